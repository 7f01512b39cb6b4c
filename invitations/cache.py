"""The tenant's pending-invitation list, cached in Redis under the tenant's schema prefix.

Keys go through django-tenants' key function, which prefixes the connection's schema, so the
key is always built inside `schema_context(tenant.schema_name)`: one tenant's cache entry can
never be read from another tenant's host.
"""

from typing import Any

from django.core.cache import cache
from django.db import transaction
from django_tenants.utils import schema_context

from tenants.models import Tenant

PENDING_KEY = "invitations:pending"
PENDING_TTL_SECONDS = 300


def pending_cache_get(*, tenant: Tenant) -> list[dict[str, Any]] | None:
    with schema_context(tenant.schema_name):
        return cache.get(PENDING_KEY)


def pending_cache_set(*, tenant: Tenant, rows: list[dict[str, Any]]) -> None:
    with schema_context(tenant.schema_name):
        cache.set(PENDING_KEY, rows, PENDING_TTL_SECONDS)


def invitation_cache_clear_on_commit(*, tenant: Tenant) -> None:
    """Drop the tenant's cached pending list once the change commits.

    After commit, not before: a reader between the delete and the commit would otherwise
    cache the old list again for the whole TTL.
    """
    schema_name = tenant.schema_name

    def clear() -> None:
        with schema_context(schema_name):
            cache.delete(PENDING_KEY)

    transaction.on_commit(clear, robust=True)
