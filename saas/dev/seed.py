"""The demo data `make dev` starts with: a tenant with its owner, and a staff superuser."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from accounts.models import User, email_normalize
from accounts.services import tenant_create_with_owner
from saas.dev import DEMO_ADMIN_EMAIL, DEMO_NAME, DEMO_OWNER_EMAIL, DEMO_SLUG
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
