"""Who is calling: a bearer API key, or the browser's session (with CSRF, DRF's SessionAuthentication).

A key is accepted only on its own organization's host. Elsewhere it is an unknown key (401),
so a key of A on B's host learns nothing about B, not even that the key is valid somewhere.
A key accepted once is remembered by the process and re-checked in the rate limits' Redis round
trip instead of a query (api.verified_keys).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from api.keys import key_hash, key_is_well_formed
from api.models import ApiKey
from api.ratelimits import generation_read, rate_limit_hit
from api.selectors import api_key_from_row, api_key_row_for_digest
from api.services import api_key_mark_used
from api.verified_keys import Remembered, generation_key, verified_keys


class KeyRefused(exceptions.AuthenticationFailed):
    """A 401 whose machine code says which rule refused the key."""

    def __init__(self, detail: str, code: str) -> None:
        super().__init__(detail, code)


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer sk_...`: the key's creator is the user, the key is `request.auth`."""

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != b"bearer":
            return None
        if len(words) != 2:
            raise KeyRefused("Send the key as `Authorization: Bearer <key>`.", "invalid_key")
        try:
            secret = words[1].decode("ascii")
        except UnicodeDecodeError:
            raise KeyRefused("This API key is not valid.", "invalid_key") from None
        tenant = getattr(request, "tenant", None)
        if tenant is None or not key_is_well_formed(secret):
            raise KeyRefused("This API key is not valid.", "invalid_key")
        digest = key_hash(secret)
        entry, api_key = self._remembered(request, digest, tenant.pk)
        if entry is None or api_key is None:
            entry, api_key = self._looked_up(request, digest, tenant.pk)
        api_key_mark_used(api_key=api_key, every_seconds=settings.API_KEY_LAST_USED_PRECISION_SECONDS)
        if entry is not None:
            entry.last_used_at = api_key.last_used_at
        return api_key.created_by, api_key

    @staticmethod
    def _remembered(request: Request, digest: str, tenant_id: int) -> tuple[Remembered | None, ApiKey | None]:
        """The key as verified earlier, if its organization's key generation is still the one
        it was verified under; the rate limits are counted in the same Redis round trip."""
        entry = verified_keys.get(digest)
        if entry is None or entry.tenant_id != tenant_id:
            return None, None
        limit = rate_limit_hit(
            caller=f"key:{entry.key_id}",
            tenant_schema=request.tenant.schema_name,  # type: ignore[attr-defined]
            generation_key=generation_key(tenant_id),
        )
        # Counted: check_throttles uses it.
        request.rate_limit = limit  # type: ignore[attr-defined]
        if limit is None or limit.key_generation != entry.generation:
            verified_keys.forget(digest)
            return None, None
        api_key = api_key_from_row(entry.row)
        api_key.last_used_at = entry.last_used_at
        key_accept(api_key)  # expiry is a matter of time, not of a change
        return entry, api_key

    @staticmethod
    def _looked_up(request: Request, digest: str, tenant_id: int) -> tuple[Remembered | None, ApiKey]:
        # The generation first, then the row: see api.verified_keys.
        if hasattr(request, "rate_limit"):  # counted just now, the generation read with it
            counted = request.rate_limit
            generation = counted.key_generation if counted is not None else None
        else:
            generation = generation_read(generation_key(tenant_id))
        row = api_key_row_for_digest(digest=digest)
        if row is None:
            raise KeyRefused("This API key is not valid.", "invalid_key")
        api_key = api_key_from_row(row)
        if api_key.tenant_id != tenant_id:
            raise KeyRefused("This API key is not valid.", "invalid_key")
        key_accept(api_key)
        if generation is None:
            return None, api_key
        entry = Remembered(
            row=row,
            tenant_id=tenant_id,
            key_id=api_key.pk,
            generation=generation,
            verified_at=time.monotonic(),
            last_used_at=api_key.last_used_at,
        )
        verified_keys.remember(digest, entry)
        return entry, api_key

    def authenticate_header(self, request: Request) -> str:
        # Present on every 401, so DRF answers 401 (not 403) to a request without credentials.
        return 'Bearer realm="api"'


def key_accept(api_key: ApiKey) -> None:
    """Refuse a key of this organization that may not be used (401 with the rule's code)."""
    if api_key.revoked_at is not None:
        raise KeyRefused("This API key was revoked.", "key_revoked")
    if api_key.is_expired:
        raise KeyRefused("This API key has expired.", "key_expired")
    creator = api_key.created_by
    if creator is None or not creator.is_active or api_key.creator_role is None:  # type: ignore[attr-defined]
        raise KeyRefused("The person who made this key is no longer a member.", "key_orphaned")
