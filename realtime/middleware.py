"""The WebSocket side of the rules HTTP requests follow, in the order HTTP applies them.

    origin_matches_host -> tenant_from_host -> member_from_session -> routing

1. Origin: a page may open a socket only to its own host (cross-site WebSocket hijacking:
   browsers send cookies with any page's socket). A mismatch or no Origin is refused at
   the handshake (HTTP 403), as channels' OriginValidator does.
2. Tenant: the Host goes through the same resolver as HTTP (tenants.resolution). The public
   host has no sockets; unknown hosts are accepted only to be closed with CLOSE_UNKNOWN_HOST.
3. Member: the session cookie gives the user under accounts/middleware.py's rule (a session
   issued on another host reads as anonymous), then the tenant guard's rule
   (accounts.guard.tenant_access). Refusals close with CLOSE_NOT_SIGNED_IN or
   CLOSE_NOT_A_MEMBER. This replaces channels' AuthMiddlewareStack, which knows neither the
   host rule nor schemas, and does the session, user and membership reads in one thread hop.

Refusals after the tenant is known accept and then close with a code, because a browser
learns nothing from a refused handshake (it sees 1006) and the client must tell "log in
again" from "you were removed" from "no such organization" to stop reconnecting.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host
from django.utils.module_loading import import_string

from accounts.guard import TenantAccessDenied, tenant_access
from accounts.middleware import session_belongs_to
from realtime.db import in_schema
from tenants.resolution import resolver

CLOSE_NOT_SIGNED_IN = 4401
CLOSE_NOT_A_MEMBER = 4403  # also a member removed while connected, or one lacking required two-factor
CLOSE_UNKNOWN_HOST = 4404

Scope = dict[str, Any]


def header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def scope_hostname(scope: Scope) -> str:
    """The Host header's name without port or trailing dot, lower-cased ("" if malformed)."""
    domain, _port = split_domain_port(header(scope, b"host"))
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return ""
    return domain


async def refuse(send: Any, receive: Any, code: int) -> None:
    """Accept the handshake only to close it with `code` (see the module docstring)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code})


async def deny_handshake(send: Any, receive: Any) -> None:
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close"})  # before accept: the server answers 403


class OriginMatchesHost:
    """Only pages of the socket's own host (same scheme family, same host and port)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            origin = urlsplit(header(scope, b"origin"))
            host = header(scope, b"host").lower()
            if origin.scheme not in ("http", "https") or not host or origin.netloc.lower() != host:
                return await deny_handshake(send, receive)
        return await self.inner(scope, receive, send)


class TenantFromHost:
    """Sets scope["tenant"] from the Host, as TenantResolutionMiddleware does for HTTP."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.public_hosts = {settings.SAAS_BASE_DOMAIN, f"www.{settings.SAAS_BASE_DOMAIN}"}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        hostname = scope_hostname(scope)
        tenant = None
        if hostname and hostname not in self.public_hosts:
            # A cache hit costs no query, a miss one; either may touch Redis and PostgreSQL.
            tenant = await in_schema("public", resolver.resolve, hostname)
        if tenant is None:
            return await refuse(send, receive, CLOSE_UNKNOWN_HOST)
        return await self.inner({**scope, "tenant": tenant, "tenant_hostname": hostname}, receive, send)


def _authorize(scope: Scope) -> tuple[Any, Any, str | None]:
    """(user, membership or None, the refusal reason or None); runs in the tenant's schema."""
    session_key = parse_cookie(header(scope, b"cookie")).get(settings.SESSION_COOKIE_NAME)
    session = import_string(f"{settings.SESSION_ENGINE}.SessionStore")(session_key)
    user: Any = AnonymousUser()
    if session_key and session_belongs_to(session, scope["tenant_hostname"]):
        # django.contrib.auth.get_user reads only `.session` (and verifies its hash).
        user = auth.get_user(_SessionOnly(session))  # type: ignore[arg-type]
    try:
        membership = tenant_access(user=user, tenant=scope["tenant"])
    except TenantAccessDenied as denied:
        return user, None, denied.reason
    return user, membership, None


class _SessionOnly:
    def __init__(self, session: Any) -> None:
        self.session = session


class MemberFromSession:
    """Sets scope["user"], scope["session"] and scope["membership"]; refuses everyone else."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        user, membership, reason = await in_schema(scope["tenant"].schema_name, _authorize, scope)
        if reason is not None:
            code = CLOSE_NOT_SIGNED_IN if reason == TenantAccessDenied.NOT_SIGNED_IN else CLOSE_NOT_A_MEMBER
            return await refuse(send, receive, code)
        return await self.inner({**scope, "user": user, "membership": membership}, receive, send)


def websocket_stack(inner: Any) -> Any:
    """The whole chain, outermost first (see the module docstring)."""
    return OriginMatchesHost(TenantFromHost(MemberFromSession(inner)))
