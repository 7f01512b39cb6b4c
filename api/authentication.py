"""Who is calling: a bearer API key, or the browser's session (with CSRF, DRF's SessionAuthentication).

A key is accepted only on its own organization's host. Elsewhere it is an unknown key (401),
so a key of A on B's host learns nothing about B, not even that the key is valid somewhere.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from api.models import ApiKey
from api.selectors import api_key_for_secret
from api.services import api_key_mark_used


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
        api_key = api_key_for_secret(secret=secret)
        tenant = getattr(request, "tenant", None)
        if api_key is None or tenant is None or api_key.tenant_id != tenant.pk:
            raise KeyRefused("This API key is not valid.", "invalid_key")
        if api_key.revoked_at is not None:
            raise KeyRefused("This API key was revoked.", "key_revoked")
        if api_key.is_expired:
            raise KeyRefused("This API key has expired.", "key_expired")
        creator = api_key.created_by
        if creator is None or not creator.is_active or api_key.creator_role is None:  # type: ignore[attr-defined]
            raise KeyRefused("The person who made this key is no longer a member.", "key_orphaned")
        api_key_mark_used(api_key=api_key, every_seconds=settings.API_KEY_LAST_USED_PRECISION_SECONDS)
        return creator, api_key

    def authenticate_header(self, request: Request) -> str:
        # Present on every 401, so DRF answers 401 (not 403) to a request without credentials.
        return 'Bearer realm="api"'
