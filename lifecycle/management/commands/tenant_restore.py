"""`manage.py tenant_restore <file> [--slug S]`: recreate a dumped organization (lifecycle.backup)."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from lifecycle.backup import tenant_restore_and_migrate
from tenants.migration import MigrationRunBusy


class Command(BaseCommand):
    help = "Recreate a tenant from a tenant_dump file, under its own slug or --slug."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--slug", help="restore under this slug (default: the dumped one)")

    def handle(self, *args, file: Path, slug: str | None, **options):
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        try:
            report = tenant_restore_and_migrate(path=file, slug=slug)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        except MigrationRunBusy as error:
            raise CommandError(
                f"Restored, but not migrated: {error} Then run migrate_schemas --schema for it."
            ) from error
        for line in report.skipped:
            self.stderr.write(f"skipped {line}")
        self.stdout.write(f"restored {report.tenant.slug} (schema {report.tenant.schema_name})")
