"""Sign-up, the organization list and the login hand-off between hosts.

Views parse, authorize, call one service and render; the rules live in accounts.services.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from allauth.core import ratelimit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.forms import SignUpForm
from accounts.models import User
from accounts.selectors import membership_list_for_user, tenant_of_recent_sign_up
from accounts.services import HandoffInvalid, login_handoff_create, login_handoff_redeem, user_sign_up
from saas.hosts import public_url, tenant_url
from tenants.models import Tenant

BACKEND = "django.contrib.auth.backends.ModelBackend"
LOGOUT_SALT = "accounts.logout-handoff"
PUBLIC_URLS = settings.PUBLIC_SCHEMA_URLCONF
TENANT_URLS = settings.ROOT_URLCONF


def tenant_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like login_required, for tenant hosts: the login page lives on the public host."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.build_absolute_uri("/"), public_url("/login/"))
        return view(request, *args, **kwargs)

    return wrapper


def _primary_host(tenant: Tenant) -> str:
    domains = list(tenant.domains.all())
    primary = next((d for d in domains if d.is_primary), domains[0] if domains else None)
    if primary is None:
        raise Http404("This organization has no domain.")
    return primary.domain


def handoff_redirect(user: User, tenant: Tenant) -> HttpResponseRedirect:
    """Send the browser to the tenant's host with a one-time login link."""
    token = login_handoff_create(user=user, tenant=tenant)
    path = reverse("login_handoff", args=[token], urlconf=TENANT_URLS)
    return HttpResponseRedirect(tenant_url(_primary_host(tenant), path))


def _repeated_sign_up(request: HttpRequest, email: str, password: str) -> tuple[User, Tenant] | None:
    """The same form sent again right after it succeeded (a double click): the same outcome.

    The browser shows the answer to the last submission; without this the person would see
    "email already registered" for the account they have just created.
    """
    user = authenticate(request, username=email, password=password)
    if not isinstance(user, User):
        return None
    tenant = tenant_of_recent_sign_up(user=user)
    return (user, tenant) if tenant is not None else None


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Public host: create an account and an organization, then land on its dashboard."""
    if request.user.is_authenticated:
        messages.info(request, "You already have an account; here are your organizations.")
        return redirect("organization_list")
    form = SignUpForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["website"]:
            form.add_error(None, "We could not create your account. Please try again.")
            status = 400
        elif not ratelimit.consume(request, action="signup", key=data["email"].lower()):
            form.add_error(None, "Too many sign-up attempts. Please wait a few minutes and try again.")
            status = 429
        else:
            try:
                result = user_sign_up(
                    email=data["email"],
                    password=data["password"],
                    organization_name=data["organization_name"],
                    subdomain=data["subdomain"] or None,
                )
            except ValidationError as error:
                repeated = _repeated_sign_up(request, data["email"], data["password"])
                if repeated is not None:
                    login(request, repeated[0], backend=BACKEND)
                    return handoff_redirect(*repeated)
                form.add_service_errors(error.message_dict)
            else:
                login(request, result.user, backend=BACKEND)
                return handoff_redirect(result.user, result.tenant)
    if request.method == "POST" and status == 200 and not form.is_valid():
        status = 400
    context = {"form": form, "base_domain": settings.SAAS_BASE_DOMAIN}
    return render(request, "accounts/signup.html", context, status=status)


@login_required
@require_GET
def organization_list(request: HttpRequest) -> HttpResponse:
    """Public host: the user's organizations, each opened through a hand-off."""
    memberships = membership_list_for_user(user=request.user)  # type: ignore[arg-type]
    return render(request, "accounts/organization_list.html", {"memberships": memberships})


@login_required
@require_GET
def organization_go(request: HttpRequest) -> HttpResponse:
    """Public host, after login: to the organization asked for or the only one, else the list."""
    memberships = list(membership_list_for_user(user=request.user))  # type: ignore[arg-type]
    wanted_host = urlsplit(request.GET.get("next", "")).hostname
    for membership in memberships:
        if wanted_host and any(d.domain == wanted_host for d in membership.tenant.domains.all()):
            return handoff_redirect(request.user, membership.tenant)  # type: ignore[arg-type]
    if len(memberships) == 1:
        return handoff_redirect(request.user, memberships[0].tenant)  # type: ignore[arg-type]
    return redirect("organization_list")


def _open(request: HttpRequest, slug: str) -> HttpResponse:
    membership = next(
        (m for m in membership_list_for_user(user=request.user) if m.tenant.slug == slug),  # type: ignore[arg-type]
        None,
    )
    if membership is None:
        raise Http404("You are not a member of this organization.")
    return handoff_redirect(request.user, membership.tenant)  # type: ignore[arg-type]


@login_required
@require_POST
def organization_open(request: HttpRequest, slug: str) -> HttpResponse:
    """Public host: open one of the user's organizations (a hand-off to its host)."""
    return _open(request, slug)


@tenant_login_required
@require_POST
def organization_switch(request: HttpRequest, slug: str) -> HttpResponse:
    """Tenant host: move to another of the user's organizations (a hand-off to its host)."""
    return _open(request, slug)


@require_GET
def login_handoff(request: HttpRequest, token: str) -> HttpResponse:
    """Tenant host: redeem a one-time link, log the user in here, show the dashboard."""
    try:
        user = login_handoff_redeem(token=token, tenant=request.tenant)  # type: ignore[attr-defined]
    except HandoffInvalid:
        return render(
            request, "accounts/handoff_invalid.html", {"login_url": public_url("/login/")}, status=400
        )
    login(request, user, backend=BACKEND)
    return redirect("/")


@require_POST
def tenant_logout(request: HttpRequest) -> HttpResponse:
    """Tenant host: log out here, then on the public host (a signed, short-lived link)."""
    user_id = request.user.pk
    logout(request)
    if user_id is None:
        return HttpResponseRedirect(public_url("/"))
    token = signing.dumps({"user": user_id}, salt=LOGOUT_SALT)
    return HttpResponseRedirect(public_url(reverse("logout_handoff", args=[token], urlconf=PUBLIC_URLS)))


@require_GET
def logout_handoff(request: HttpRequest, token: str) -> HttpResponse:
    """Public host: finish a logout begun on a tenant host, for that same user only."""
    try:
        data = signing.loads(token, salt=LOGOUT_SALT, max_age=60)
    except signing.BadSignature:
        data = {}
    if request.user.is_authenticated and request.user.pk == data.get("user"):
        logout(request)
    messages.success(request, "You have signed out.")
    return redirect("landing")
