from django.apps import AppConfig


class SaasConfig(AppConfig):
    name = "saas"
    verbose_name = "SaaS kernel"

    def ready(self) -> None:
        # Declares every domain event, so the outbox relay knows them in any process.
        from saas import signals  # noqa: F401
