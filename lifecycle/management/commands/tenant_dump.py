"""`manage.py tenant_dump <slug> <file>`: one organization's schema and public rows (lifecycle.backup)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lifecycle.backup import tenant_dump
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Write one tenant's schema (pg_dump) and its public rows to a file."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file", type=Path)

    def handle(self, *args, slug: str, file: Path, **options):
        try:
            counts = tenant_dump(slug=slug, path=file)
        except Tenant.DoesNotExist as error:
            raise CommandError(f"No tenant {slug}.") from error
        except RuntimeError as error:
            raise CommandError(str(error)) from error
        rows = ", ".join(f"{count} {kind}" for kind, count in counts.items())
        self.stdout.write(f"{slug} written to {file} (schema and {rows})")
