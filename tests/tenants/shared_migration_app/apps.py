from django.apps import AppConfig


class SharedMigrationAppConfig(AppConfig):
    """A shared app that exists only in tests/tenants/migration_settings.py (a shared upgrade)."""

    name = "tests.tenants.shared_migration_app"
    label = "shared_migration_app"
    default_auto_field = "django.db.models.BigAutoField"
