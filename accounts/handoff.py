"""Carrying a signed-in browser to a tenant's host, logged in there (sessions are per host).

The host where the user proved who they are mints a one-time token and answers with a small
page whose form POSTs the token to the tenant host (submitted by script at once, or by the
button without it). The tenant host redeems the token only from a POST whose `Origin` is one
of our own hosts. Why not a plain redirect to a GET link: anyone can make a victim's browser
open a link, so a link minted by an attacker for the attacker's account would log the victim
into it (login CSRF). A cross-site page cannot forge the Origin of its POST.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from accounts.models import User
from accounts.services import login_handoff_create
from saas.csp import csp_form_target
from tenants.models import Tenant
from tenants.selectors import tenant_absolute_url


def handoff_response(request: HttpRequest, *, user: User, tenant: Tenant) -> HttpResponse:
    """The page that takes `user`'s browser to the tenant's host, logged in there."""
    # Messages queued here belong to the page the user lands on: they travel with the token
    # (reading them marks them shown on this host) and the tenant host adds them on redeem.
    pending = [[message.level, str(message)] for message in messages.get_messages(request)]
    token = login_handoff_create(user=user, tenant=tenant, messages=pending)
    action = tenant_absolute_url(tenant=tenant, path=reverse("login_handoff", urlconf=settings.ROOT_URLCONF))
    response = render(
        request, "accounts/handoff_continue.html", {"action": action, "token": token, "tenant": tenant}
    )
    response["Cache-Control"] = "no-store"  # the page carries a live token
    # Not "no-referrer": with it Chromium sends `Origin: null` on the form's cross-host POST
    # (Fetch spec, "serializing a request origin") and the tenant host refuses every hand-off.
    # "origin" sends the scheme and host only; the token travels in the body, never a URL.
    response["Referrer-Policy"] = "origin"
    # The form posts to the tenant's host, which may be a custom domain the fixed policy omits.
    csp_form_target(response, action)
    return response


def handoff_origin_allowed(origin: str | None) -> bool:
    """True for the Origin of our own pages: the public host or a `<slug>.<base>` host.

    Customers' custom domains are not trusted here: their DNS is theirs, so a page served
    from one need not be ours.
    """
    if not origin:
        return False
    parts = urlsplit(origin)
    base = settings.SAAS_BASE_DOMAIN
    host = (parts.hostname or "").lower()
    port = str(parts.port) if parts.port else ""
    return (
        parts.scheme == settings.SAAS_SCHEME
        and port == (settings.SAAS_PUBLIC_PORT or "")
        and (host == base or host.endswith("." + base))
    )


def handoff_messages_restore(request: HttpRequest, pending: list[list[object]]) -> None:
    """Add the messages a hand-off carried to this host's request (shown once, here)."""
    for level, text in pending:
        messages.add_message(request, int(level), str(text))  # type: ignore[call-overload]
