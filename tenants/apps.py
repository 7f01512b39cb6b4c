from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        from django.core import checks

        from saas.health import health_check_register
        from tenants import receivers  # noqa: F401
        from tenants.checks import open_files_check, pooling_check
        from tenants.schema_template import template_check

        health_check_register("tenant_template", template_check)
        # Blocks the release (migrate_schemas runs the checks) and `runserver`.
        checks.register(pooling_check)
        checks.register(open_files_check, checks.Tags.database)
