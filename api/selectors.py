"""Reads for API keys."""

from __future__ import annotations

import hmac

from django.db.models import OuterRef, QuerySet, Subquery

from accounts.models import Membership
from api.keys import key_hash, key_is_well_formed
from api.models import ApiKey
from tenants.models import Tenant


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    """A tenant's keys, newest first, revoked ones included (the page shows them greyed)."""
    return ApiKey.objects.filter(tenant=tenant).select_related("created_by")


def api_key_for_secret(*, secret: str) -> ApiKey | None:
    """The key a bearer secret belongs to (any state), with its creator and the creator's
    current role in the key's tenant as `creator_role` (None if no longer a member): one query.
    """
    if not key_is_well_formed(secret):
        return None
    digest = key_hash(secret)
    role = Membership.objects.filter(tenant_id=OuterRef("tenant_id"), user_id=OuterRef("created_by_id"))
    api_key = (
        ApiKey.objects.select_related("created_by")
        .annotate(creator_role=Subquery(role.values("role")[:1]))
        .filter(key_hash=digest)
        .first()
    )
    # The unique index finds the row; the constant-time comparison is what accepts the key.
    if api_key is None or not hmac.compare_digest(api_key.key_hash, digest):
        return None
    return api_key
