"""The demo data `make dev` starts with: a tenant with its owner, and a staff superuser.

Needs Django set up (`python -m devtools.seed` does that); the runtime never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from accounts.models import User, email_normalize
from accounts.services import tenant_create_with_owner
from devtools import DEMO_ADMIN_EMAIL, DEMO_NAME, DEMO_OWNER_EMAIL, DEMO_SLUG
from saas.hosts import public_url, tenant_url
from tenants.models import Tenant


@dataclass(frozen=True)
class DemoSeed:
    tenant: Tenant
    admin: User
    created: tuple[str, ...]  # what this call made; empty when everything existed


@transaction.atomic
def demo_seed(*, password: str) -> DemoSeed:
    """Create the demo tenant (with its owner) and a staff superuser, each only if missing."""
    # Fixed, published credentials must never exist on a real deployment.
    if settings.IS_PRODUCTION:
        raise ImproperlyConfigured("The demo seed holds published passwords; it never runs in production.")
    created: list[str] = []
    admin = User.objects.filter(email__iexact=email_normalize(DEMO_ADMIN_EMAIL)).first()
    if admin is None:
        admin = User.objects.create_superuser(DEMO_ADMIN_EMAIL, password)
        created.append(f"staff superuser {admin.email}")
    tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
    if tenant is None:
        tenant = tenant_create_with_owner(
            slug=DEMO_SLUG, name=DEMO_NAME, owner_email=DEMO_OWNER_EMAIL, owner_password=password
        )
        created.append(f"tenant {tenant.slug} owned by {DEMO_OWNER_EMAIL}")
    return DemoSeed(tenant=tenant, admin=admin, created=tuple(created))


def demo_seed_report(seed: DemoSeed, *, password: str, out: TextIO) -> None:
    """What the seed made, and the development-only accounts with where to use them."""
    for made in seed.created:
        out.write(f"Created {made}\n")
    if not seed.created:
        out.write("Demo data already present; nothing created.\n")
    host = seed.tenant.domains.get(is_primary=True).domain
    out.write(
        "Development-only accounts (accounts that already existed keep their password):\n"
        f"  staff   {DEMO_ADMIN_EMAIL} / {password}  -> {public_url('/admin/')}\n"
        f"  owner   {DEMO_OWNER_EMAIL} / {password}  -> {tenant_url(host)}\n"
    )
