from django.apps import AppConfig


class MigrationAppConfig(AppConfig):
    """A tenant app that exists only in tests/tenants/migration_settings.py, for migrate_schemas."""

    name = "tests.tenants.migration_app"
    label = "migration_app"
    default_auto_field = "django.db.models.BigAutoField"
