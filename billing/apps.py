from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        import stripe
        from django.conf import settings

        from billing import checks, receivers  # noqa: F401

        # dj-stripe's own calls use stripe-python's global base; point it where ours go.
        stripe.api_base = settings.STRIPE_API_BASE
