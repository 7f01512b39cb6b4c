"""Writes for users and memberships. Each service owns its transaction."""

from django.db import transaction
from django_tenants.utils import schema_context

from accounts.models import Membership, User, email_normalize
from activity.services import audit_record
from tenants.models import Tenant
from tenants.services import tenant_provision


@transaction.atomic
def tenant_create_with_owner(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_password: str | None = None,
    custom_domain: str | None = None,
) -> Tenant:
    """Provision a tenant and make `owner_email` its owner (creating that account if new)."""
    owner = User.objects.filter(email__iexact=email_normalize(owner_email)).first()
    if owner is None:
        owner = User.objects.create_user(owner_email, owner_password)
    tenant = tenant_provision(name=name, slug=slug, custom_domain=custom_domain, actor=owner)
    membership_create(user=owner, tenant=tenant, role=Membership.Role.OWNER)
    return tenant


def membership_create(*, user: User, tenant: Tenant, role: str) -> Membership:
    """Add a user to a tenant with a role, with its audit row (inside the caller's transaction)."""
    membership = Membership(user=user, tenant=tenant, role=role)
    membership.full_clean()
    membership.save()
    with schema_context(tenant.schema_name):
        audit_record(action="member.added", actor=user, target=user.email, data={"role": role})
    return membership
