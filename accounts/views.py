"""Sign-up, the organization list and the login hand-off between hosts.

Views parse, authorize, call one service and render; the rules live in accounts.services.
"""

from urllib.parse import urlsplit

from allauth.core import ratelimit
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.forms import OrganizationForm, SignUpForm
from accounts.guard import AuthenticatedRequest, TenantHostRequest, TenantRequest, tenant_member
from accounts.handoff import handoff_messages_restore, handoff_origin_allowed, handoff_response
from accounts.models import User
from accounts.selectors import membership_list_for_user, tenant_of_recent_sign_up
from accounts.services import (
    HandoffInvalid,
    login_handoff_redeem,
    organization_create,
    user_sign_up,
)
from saas.hosts import public_url
from tenants.models import Tenant

BACKEND = "django.contrib.auth.backends.ModelBackend"
LOGOUT_SALT = "accounts.logout-handoff"
PUBLIC_URLS = settings.PUBLIC_SCHEMA_URLCONF


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
                    full_name=data["full_name"],
                )
            except ValidationError as error:
                repeated = _repeated_sign_up(request, data["email"], data["password"])
                if repeated is not None:
                    login(request, repeated[0], backend=BACKEND)
                    return handoff_response(request, user=repeated[0], tenant=repeated[1])
                form.add_service_errors(error.message_dict)
            else:
                login(request, result.user, backend=BACKEND)
                messages.success(
                    request,
                    f"Welcome to {result.tenant.name}! We sent a confirmation link to {result.user.email}.",
                )
                return handoff_response(request, user=result.user, tenant=result.tenant)
    if request.method == "POST" and status == 200 and not form.is_valid():
        status = 400
    context = {"form": form, "base_domain": settings.SAAS_BASE_DOMAIN}
    return render(request, "accounts/signup.html", context, status=status)


@login_required
@require_GET
def organization_list(request: AuthenticatedRequest) -> HttpResponse:
    """Public host: the user's organizations, each opened through a hand-off."""
    memberships = membership_list_for_user(user=request.user)
    return render(request, "accounts/organization_list.html", {"memberships": memberships})


@login_required
@require_http_methods(["GET", "POST"])
def organization_new(request: AuthenticatedRequest) -> HttpResponse:
    """Public host: a signed-in user starts another organization, then lands on it."""
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = organization_create(
                user=request.user,
                organization_name=form.cleaned_data["organization_name"],
                subdomain=form.cleaned_data["subdomain"] or None,
            )
        except ValidationError as error:
            form.add_service_errors(error.message_dict)
        else:
            messages.success(request, f"{membership.tenant.name} is ready. You are its owner.")
            return handoff_response(request, user=request.user, tenant=membership.tenant)
    context = {"form": form, "base_domain": settings.SAAS_BASE_DOMAIN}
    return render(request, "accounts/organization_new.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def security(request: AuthenticatedRequest) -> HttpResponse:
    """Public host: password, two-factor (allauth's pages under /2fa/), sessions, last login."""
    return render(request, "accounts/security.html", {"mfa_enabled": is_mfa_enabled(request.user)})


@login_required
@require_GET
def two_factor_required(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """Public host: where the tenant guard sends a member who lacks two-factor their organization requires."""
    membership = next((m for m in membership_list_for_user(user=request.user) if m.tenant.slug == slug), None)
    if membership is None or not membership.tenant.require_two_factor:
        return redirect("security")
    if is_mfa_enabled(request.user):  # set up since: on to the organization
        return handoff_response(request, user=request.user, tenant=membership.tenant)
    return render(request, "accounts/two_factor_required.html", {"organization": membership.tenant})


@login_required
@require_GET
def organization_go(request: AuthenticatedRequest) -> HttpResponse:
    """Public host, after login: to the organization asked for or the only one, else the list."""
    memberships = list(membership_list_for_user(user=request.user))
    wanted_host = urlsplit(request.GET.get("next", "")).hostname
    for membership in memberships:
        if wanted_host and any(d.domain == wanted_host for d in membership.tenant.domains.all()):
            return handoff_response(request, user=request.user, tenant=membership.tenant)
    if len(memberships) == 1:
        return handoff_response(request, user=request.user, tenant=memberships[0].tenant)
    return redirect("organization_list")


def _open(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    membership = next((m for m in membership_list_for_user(user=request.user) if m.tenant.slug == slug), None)
    if membership is None:
        raise Http404("You are not a member of this organization.")
    return handoff_response(request, user=request.user, tenant=membership.tenant)


@login_required
@require_POST
def organization_open(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """Public host: open one of the user's organizations (a hand-off to its host)."""
    return _open(request, slug)


@require_POST
@tenant_member()
def organization_switch(request: TenantRequest, slug: str) -> HttpResponse:
    """Tenant host: move to another of the user's organizations (a hand-off to its host)."""
    return _open(request, slug)


@csrf_exempt  # posted from another of our hosts; the Origin check is the CSRF defence
@require_POST
def login_handoff(request: TenantHostRequest) -> HttpResponse:
    """Tenant host: redeem a one-time token posted from our own page, log the user in here."""
    try:
        if not handoff_origin_allowed(request.headers.get("Origin")):
            raise HandoffInvalid
        user, pending = login_handoff_redeem(token=request.POST.get("token", ""), tenant=request.tenant)
    except HandoffInvalid:
        return render(
            request, "accounts/handoff_invalid.html", {"login_url": public_url("/login/")}, status=400
        )
    login(request, user, backend=BACKEND)
    handoff_messages_restore(request, pending)
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
