"""Reads for API keys."""

from __future__ import annotations

import hmac
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model, QuerySet

from accounts.models import Membership, User
from api.models import ApiKey
from tenants.models import Tenant


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    """A tenant's keys, newest first, revoked ones included (the page shows them greyed)."""
    return ApiKey.objects.filter(tenant=tenant).select_related("created_by")


def _columns(model: type[Model], alias: str) -> tuple[list[str], str]:
    fields = [field.attname for field in model._meta.concrete_fields]
    columns = ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)
    return fields, columns


_KEY_FIELDS, _KEY_COLUMNS = _columns(ApiKey, "k")
_USER_FIELDS, _USER_COLUMNS = _columns(User, "u")
_KEY_HASH_INDEX = _KEY_FIELDS.index("key_hash")
# One statement: the key by its hash, its creator, and the creator's role in the key's tenant.
_KEY_LOOKUP = f"""
SELECT {_KEY_COLUMNS}, {_USER_COLUMNS}, m."role"
  FROM "{ApiKey._meta.db_table}" k
  LEFT JOIN "{User._meta.db_table}" u ON u."id" = k."created_by_id"
  LEFT JOIN "{Membership._meta.db_table}" m
         ON m."tenant_id" = k."tenant_id" AND m."user_id" = k."created_by_id"
 WHERE k."key_hash" = %s
"""


# One row of _KEY_LOOKUP: the key's columns, its creator's columns, the creator's role.
KeyRow = tuple[Any, ...]


def api_key_row_for_digest(*, digest: str) -> KeyRow | None:
    """The row of the key whose stored hash is `digest` (any state), with its creator and the
    creator's current role in the key's tenant (None if no longer a member): one query.

    Written as one SQL statement because the ORM's version (a correlated subquery for the role)
    spent about 2 ms per request compiling, the largest cost of a key lookup in a profile and
    most of the API's gap to a key-less peer (bench/api.py).
    """
    with connection.cursor() as cursor:
        cursor.execute(_KEY_LOOKUP, [digest])
        row = cursor.fetchone()
    # The unique index finds the row; the constant-time comparison is what accepts the key.
    if row is None or not hmac.compare_digest(row[_KEY_HASH_INDEX], digest):
        return None
    return tuple(row)


def api_key_from_row(row: KeyRow) -> ApiKey:
    """Fresh instances (never shared between requests) of a row of `api_key_row_for_digest`:
    the key, its `created_by` (None if the account is gone) and its `creator_role`."""
    key_values, user_values = row[: len(_KEY_FIELDS)], row[len(_KEY_FIELDS) : -1]
    api_key = ApiKey.from_db(DEFAULT_DB_ALIAS, _KEY_FIELDS, key_values)
    api_key.created_by = User.from_db(DEFAULT_DB_ALIAS, _USER_FIELDS, user_values) if user_values[0] else None
    api_key.creator_role = row[-1]  # type: ignore[attr-defined]
    return api_key
