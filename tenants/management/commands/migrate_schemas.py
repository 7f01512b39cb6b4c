"""`migrate_schemas`: public with Django's migrate, then the tenant schemas with tenants.migration.

`<app> <migration|zero>` moves the tenant schemas to that migration, through tenants.migration
too. `--executor=standard|multiprocessing` (or `--fake`, `--plan`, `--prune`, `--check`) runs
django-tenants' executors instead, one full `migrate` per schema.
"""

from django.conf import settings
from django.core.management.base import CommandError
from django.db.migrations.exceptions import AmbiguityError
from django.db.migrations.loader import MigrationLoader
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import schema_exists

from tenants.migration import MigrationRunBusy, schemas_migrate, schemas_migrate_to, tenant_app_labels
from tenants.schema_template import template_ensure, template_schema, template_script

# A migration target (`<app> <migration|zero>`) goes through tenants.migration too (below).
_DJANGO_TENANTS_ONLY = (
    "fake",
    "fake_initial",
    "plan",
    "prune",
    "check_unapplied",
)


class Command(MigrateSchemasCommand):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--workers", type=int, default=None, help="schemas migrated at once (MIGRATION_WORKERS)"
        )

    def handle(self, *args, **options):
        if getattr(settings, "DATABASE_POOLING", "session") == "transaction":
            # Its advisory locks (one run at a time; the template against sign-ups) belong to
            # a session, which PgBouncer's transaction mode does not keep.
            raise CommandError(
                "migrate_schemas needs a session of its own: run it with DATABASE_URL pointing at "
                "PostgreSQL itself (not PgBouncer's transaction mode) and DATABASE_POOLING unset."
            )
        if options.get("executor") or any(options.get(name) for name in _DJANGO_TENANTS_ONLY):
            return self._handle_django_tenants(*args, **options)
        # Parses --tenant / --shared / --schema into sync_public, sync_tenant, schema_name.
        super(MigrateSchemasCommand, self).handle(*args, **options)
        public = self.PUBLIC_SCHEMA_NAME = "public"
        if self.sync_public:
            get_executor(codename="standard")(self.args, self.options).run_migrations(tenants=[public])
        if not self.sync_tenant or self.schema_name == public:
            return
        if self.schema_name and not schema_exists(self.schema_name):
            raise CommandError(f'Schema "{self.schema_name}" does not exist')
        verbosity = int(options.get("verbosity", 1))
        log = (lambda line: self.stdout.write(line)) if verbosity else (lambda line: None)
        if options.get("app_label"):
            self._migrate_to(options["app_label"], options.get("migration_name"), log)
            return
        try:
            report = schemas_migrate(
                schemas=[self.schema_name] if self.schema_name else None,
                workers=options.get("workers"),
                log=log,
            )
        except MigrationRunBusy as error:
            raise CommandError(str(error)) from error
        if verbosity:
            self.stdout.write(
                f"tenant schemas: {report.checked} checked, {len(report.migrated)} migrated, "
                f"{len(report.failed)} failed in {report.seconds:.1f} s"
            )
        # Built now, so a template the copy cannot reproduce fails the deploy, not a sign-up.
        template_script()
        if report.failed:
            for name, message in sorted(report.failed.items()):
                self.stderr.write(f"{name}: {message}")
            raise CommandError(
                f"{len(report.failed)} tenant schema(s) failed to migrate (listed above; the admin "
                "shows them under Schema migrations). The others are current; run it again once fixed."
            )

    def _migrate_to(self, app_label: str, migration_name: str | None, log) -> None:
        if app_label not in tenant_app_labels():
            if self.sync_public:
                return  # a shared app: the public run above did it
            raise CommandError(f"{app_label} is not a tenant app: its migrations run in public only.")
        loader = MigrationLoader(None, ignore_no_migrations=True)
        target: tuple[str, str | None]
        if migration_name == "zero":
            target = (app_label, None)
        elif migration_name is None:
            target = max(node for node in loader.graph.leaf_nodes() if node[0] == app_label)
        else:
            try:
                migration = loader.get_migration_by_prefix(app_label, migration_name)
            except (AmbiguityError, KeyError) as error:
                raise CommandError(f"{app_label} {migration_name}: {error}") from error
            target = (migration.app_label, migration.name)
        schemas_migrate_to(target=target, schemas=[self.schema_name] if self.schema_name else None, log=log)
        template_script()

    def _handle_django_tenants(self, *args, **options):
        super().handle(*args, **options)
        if not self.sync_tenant or self.schema_name not in (None, self.PUBLIC_SCHEMA_NAME):
            return
        template_ensure()
        executor = get_executor(codename=self.executor)(self.args, self.options)
        executor.run_migrations(tenants=[template_schema()])
        template_script()
