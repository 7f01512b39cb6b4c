"""A session is good only on the host that issued it.

Browsers keep cookies per host, so a real browser never presents one host's session cookie
on another host; a cookie that turns up elsewhere was copied. That matters here because the
session table is shared by every host and customers control their custom domains' DNS: a
customer could point their domain at their own server, collect the session cookies our
pages set there, and replay them on the public host or another tenant's host. Each session
therefore records its host when it first carries data, and on any other host it reads as
empty (anonymous). Moving between hosts goes through the login hand-off (accounts/handoff.py).
"""

from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.module_loading import import_string

from tenants.middleware import hostname_of

HOST_KEY = "_session_host"


def session_belongs_to(session: SessionBase, host: str) -> bool:
    """The rule itself, shared with WebSocket connections (realtime/middleware.py)."""
    bound = session.get(HOST_KEY)
    return bound is None or bound == host


class SessionHostMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.session_store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            host = hostname_of(request)
        except DisallowedHost:
            host = ""
        session: SessionBase = request.session
        if not session_belongs_to(session, host):
            # Not this host's session: start an empty one, leaving the other host's alone.
            request.session = self.session_store()
        response = self.get_response(request)
        session = request.session
        if session.get(HOST_KEY) is None and not session.is_empty() and len(session.keys()) > 0:
            session[HOST_KEY] = host
        return response


class StaffTwoFactorMiddleware:
    """With ADMIN_REQUIRE_TWO_FACTOR, staff reach the admin only once they use two-factor.

    Staff sign in to the admin through allauth's login (config/urls_public.py), which asks
    for the code once it is set up; this leads staff who have none to the setup first. The
    admin lives on the public host only.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.ADMIN_REQUIRE_TWO_FACTOR
            and getattr(request, "tenant", None) is None
            and request.path_info.startswith(reverse("admin:index"))
            and request.user.is_authenticated
            and request.user.is_staff
            and not is_mfa_enabled(request.user)
        ):
            messages.warning(request, "Set up two-factor authentication to use the admin.")
            return redirect("mfa_index")
        return self.get_response(request)
