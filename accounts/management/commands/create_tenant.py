"""Create a tenant (schema, domain) and its owner from the command line."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import tenant_create_with_owner


class Command(BaseCommand):
    help = "Provision a tenant with its owner: create_tenant SLUG NAME OWNER_EMAIL [--domain HOST]"

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("name")
        parser.add_argument("owner_email")
        parser.add_argument("--domain", help="An extra custom domain for the tenant")
        parser.add_argument("--password", help="Password for the owner if the account is new")

    def handle(self, *args, **options):
        try:
            tenant = tenant_create_with_owner(
                slug=options["slug"],
                name=options["name"],
                owner_email=options["owner_email"],
                owner_password=options["password"],
                custom_domain=options["domain"],
            )
        except ValidationError as error:
            messages = (
                [f"{field}: {' '.join(errs)}" for field, errs in error.message_dict.items()]
                if hasattr(error, "error_dict")
                else error.messages
            )
            raise CommandError("; ".join(messages)) from error
        hosts = ", ".join(d.domain for d in tenant.domains.all())
        self.stdout.write(self.style.SUCCESS(f"Created {tenant.name} ({tenant.schema_name}) at {hosts}"))
