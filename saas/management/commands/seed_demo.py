"""Create the development demo data (idempotent): `manage.py seed_demo`."""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from saas.dev import DEMO_ADMIN_EMAIL, DEMO_OWNER_EMAIL, DEMO_PASSWORD
from saas.dev.seed import demo_seed
from saas.hosts import public_url, tenant_url


class Command(BaseCommand):
    help = "Create the demo tenant, its owner and a staff superuser unless they exist (development only)"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--password",
            default=os.environ.get("SAAS_DEV_PASSWORD", DEMO_PASSWORD),
            help="Password for accounts this run creates (default: $SAAS_DEV_PASSWORD or the dev one)",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        try:
            seed = demo_seed(password=options["password"])
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        for made in seed.created:
            self.stdout.write(self.style.SUCCESS(f"Created {made}"))
        if not seed.created:
            self.stdout.write("Demo data already present; nothing created.")
        host = seed.tenant.domains.get(is_primary=True).domain
        password = options["password"]
        self.stdout.write(
            "Development-only accounts (accounts that already existed keep their password):\n"
            f"  staff   {DEMO_ADMIN_EMAIL} / {password}  -> {public_url('/admin/')}\n"
            f"  owner   {DEMO_OWNER_EMAIL} / {password}  -> {tenant_url(host)}"
        )
