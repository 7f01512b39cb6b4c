from django.apps import AppConfig


class SaasConfig(AppConfig):
    name = "saas"
    verbose_name = "SaaS kernel"

    def ready(self) -> None:
        # Declares every domain event, so the outbox relay knows them in any process.
        from django.contrib import admin

        from saas import signals  # noqa: F401
        from saas.admin import admin_actions_need_change_permission

        # django.contrib.admin comes before this app in INSTALLED_APPS, so its ready() has
        # imported every app's admin module (autodiscover) by now.
        admin_actions_need_change_permission(admin.site)
