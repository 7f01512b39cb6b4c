"""Writes for API keys: made and revoked by owners and admins, each with an audit row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.guard import TenantAccessDenied, tenant_access
from accounts.models import Membership, User
from activity.models import AuditAction
from activity.services import audit_record
from api.keys import key_hash, key_new
from api.models import SCOPES, ApiKey
from tenants.models import Tenant


class ApiKeyError(Exception):
    """A refused key operation; `message` is safe to show to the person who tried."""

    def __init__(self, message: str, *, code: str = "invalid", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


def _require_admin(*, user: User, tenant: Tenant) -> None:
    try:
        tenant_access(user=user, tenant=tenant, role=Membership.Role.ADMIN)
    except TenantAccessDenied as denied:
        raise ApiKeyError("Only owners and admins can manage API keys.", code="forbidden") from denied


def _audit(api_key: ApiKey, action: AuditAction, actor: User, *, changes: dict[str, list[object]]) -> None:
    with schema_context(api_key.tenant.schema_name):
        audit_record(
            action=action,
            actor=actor,
            target=api_key.name,
            data={"api_key_id": api_key.pk, "prefix": api_key.prefix, "scopes": api_key.scopes},
            changes=changes,
        )


@transaction.atomic
def api_key_create(
    *, tenant: Tenant, actor: User, name: str, scopes: Iterable[str], expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Make a key for `tenant` acting as `actor`; returns it with the secret, which is never stored."""
    _require_admin(user=actor, tenant=tenant)
    chosen = sorted(set(scopes))
    unknown = [scope for scope in chosen if scope not in SCOPES]
    if unknown:
        raise ApiKeyError(f"Unknown scopes: {', '.join(unknown)}.", code="scope", field="scopes")
    if not chosen:
        raise ApiKeyError("Choose at least one scope.", code="scope", field="scopes")
    if expires_at is not None and expires_at <= timezone.now():
        raise ApiKeyError("The expiry must be in the future.", code="expiry", field="expires_at")
    secret, prefix = key_new()
    api_key = ApiKey(
        tenant=tenant,
        name=name.strip(),
        prefix=prefix,
        key_hash=key_hash(secret),
        scopes=chosen,
        created_by=actor,
        expires_at=expires_at,
    )
    try:
        api_key.full_clean()
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise ApiKeyError(" ".join(messages), field=field) from error
    api_key.save()
    _audit(
        api_key,
        AuditAction.API_KEY_CREATED,
        actor,
        changes={"name": [None, api_key.name], "scopes": [None, api_key.scopes]},
    )
    return api_key, secret


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: User) -> ApiKey:
    """Stop a key from working, at once and for good (revoking twice changes nothing)."""
    api_key = ApiKey.objects.select_for_update().select_related("tenant").get(pk=api_key.pk)
    _require_admin(user=actor, tenant=api_key.tenant)
    if api_key.revoked_at is not None:
        return api_key
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    _audit(
        api_key,
        AuditAction.API_KEY_REVOKED,
        actor,
        changes={"revoked_at": [None, api_key.revoked_at.isoformat()]},
    )
    return api_key


def api_key_mark_used(*, api_key: ApiKey, every_seconds: int) -> None:
    """Record that a key was used, at most once per `every_seconds` (bookkeeping, no audit row).

    Writing on every request would turn each read into a write; a minute's precision is what
    a "last used" column is for.
    """
    now = timezone.now()
    if api_key.last_used_at is not None and (now - api_key.last_used_at).total_seconds() < every_seconds:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
