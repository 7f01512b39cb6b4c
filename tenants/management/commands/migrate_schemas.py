"""django-tenants' migrate_schemas, which also keeps the provisioning template current."""

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor

from tenants.schema_template import template_ensure, template_schema, template_script


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        # `--schema=X` migrates one schema; `--shared` only public: the template is a tenant.
        if not self.sync_tenant or self.schema_name not in (None, self.PUBLIC_SCHEMA_NAME):
            return
        template_ensure()
        executor = get_executor(codename=self.executor)(self.args, self.options)
        executor.run_migrations(tenants=[template_schema()])
        # Build the copy script now, so a template it cannot reproduce fails the deploy
        # rather than the next sign-up.
        template_script()
