"""`manage.py create_api_key <tenant slug> --name ... --scope projects:write --as owner@example.com`."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import User
from api.models import SCOPES
from api.services import ApiKeyError, api_key_create
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Create an API key for an organization, acting as one of its owners or admins; prints it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the organization's slug (its schema is t_<slug>)")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scope", action="append", dest="scopes", choices=SCOPES, required=True)
        parser.add_argument("--as", dest="email", required=True, help="an owner's or admin's email")
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args: object, **options: object) -> None:
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"No organization with slug {options['slug']!r}.")
        user = User.objects.filter(email__iexact=str(options["email"])).first()
        if user is None:
            raise CommandError(f"No user {options['email']!r}.")
        days = options["expires_in_days"]
        try:
            api_key, secret = api_key_create(
                tenant=tenant,
                actor=user,
                name=str(options["name"]),
                scopes=options["scopes"],  # type: ignore[arg-type]
                expires_at=timezone.now() + timedelta(days=int(days)) if days else None,  # type: ignore[call-overload]
            )
        except ApiKeyError as error:
            raise CommandError(error.message) from error
        self.stderr.write(f"Created {api_key}; it is shown only now:")
        self.stdout.write(secret)
