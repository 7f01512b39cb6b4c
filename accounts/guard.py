"""The tenant guard: who may use a tenant host. Written once; pages, the API and sockets reuse it.

The rule (`tenant_access`): the user is signed in, is a member of the host's tenant, and has at
least the role the place asks for. Pages get it as a decorator that resolves the membership
once and sets `request.membership`:

    @tenant_member(role=Membership.Role.ADMIN)
    def billing_page(request: TenantRequest) -> HttpResponse: ...

Anonymous visitors are sent to log in (on the public host), signed-in non-members and members
with a lower role get a 403 page. In an organization that requires two-factor
(`Tenant.require_two_factor`), a member without it is refused too and sent to set it up on the
public host; what the guard does not cover stays open to them: the login hand-off, logout,
static files, health checks, the two-factor pages themselves, and API keys (a key is not a
session; api/permissions.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.models import Membership, User
from saas.hosts import public_url
from tenants.models import Tenant

P = ParamSpec("P")

ROLE_AUDIENCE = {
    Membership.Role.OWNER: "owners",
    Membership.Role.ADMIN: "owners and admins",
    Membership.Role.MEMBER: "members",
}


class AuthenticatedRequest(HttpRequest):
    """A request whose user is signed in (after login_required or the tenant guard)."""

    user: User


class TenantHostRequest(HttpRequest):
    """A request on a tenant host (the tenant middleware resolved its host)."""

    tenant: Tenant


class TenantRequest(AuthenticatedRequest, TenantHostRequest):
    """A request on a tenant host that passed the tenant guard."""

    membership: Membership


class TenantAccessDenied(Exception):
    """The user may not use this tenant (or this part of it); `reason` says why."""

    NOT_SIGNED_IN = "not_signed_in"
    NOT_A_MEMBER = "not_a_member"
    ROLE_TOO_LOW = "role_too_low"
    TWO_FACTOR_REQUIRED = "two_factor_required"

    def __init__(self, reason: str, membership: Membership | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.membership = membership


def tenant_access(
    *, user: AbstractBaseUser | AnonymousUser, tenant: Tenant, role: str = Membership.Role.MEMBER
) -> Membership:
    """The user's membership of `tenant` if it has at least `role`; TenantAccessDenied if not."""
    if not user.is_authenticated or not user.is_active:
        raise TenantAccessDenied(TenantAccessDenied.NOT_SIGNED_IN)
    membership = Membership.objects.filter(user_id=user.pk, tenant_id=tenant.pk).first()
    if membership is None:
        raise TenantAccessDenied(TenantAccessDenied.NOT_A_MEMBER)
    if tenant.require_two_factor and not is_mfa_enabled(user):
        raise TenantAccessDenied(TenantAccessDenied.TWO_FACTOR_REQUIRED, membership)
    if not membership.has_role(role):
        raise TenantAccessDenied(TenantAccessDenied.ROLE_TOO_LOW, membership)
    return membership


def tenant_refusal(
    request: HttpRequest, denied: TenantAccessDenied, *, role: str, template: str | None = None
) -> HttpResponse:
    """The page for a refused request: the login redirect or a 403 saying why."""
    if denied.reason == TenantAccessDenied.NOT_SIGNED_IN:
        return redirect_to_login(request.build_absolute_uri(), public_url("/login/"))
    if denied.reason == TenantAccessDenied.NOT_A_MEMBER:
        return render(request, "accounts/not_a_member.html", status=403)
    if denied.reason == TenantAccessDenied.TWO_FACTOR_REQUIRED:
        tenant = getattr(request, "tenant", None)
        slug = tenant.slug if tenant is not None else ""
        path = reverse("two_factor_required", kwargs={"slug": slug}, urlconf=settings.PUBLIC_SCHEMA_URLCONF)
        return redirect(public_url(path))
    request.membership = denied.membership  # type: ignore[attr-defined]  # a member: may see the name
    context = {"membership": denied.membership, "required_role_label": ROLE_AUDIENCE[Membership.Role(role)]}
    return render(request, template or "accounts/role_required.html", context, status=403)


def tenant_member(
    *, role: str = Membership.Role.MEMBER, refused_template: str | None = None
) -> Callable[
    [Callable[Concatenate[TenantRequest, P], HttpResponse]],
    Callable[Concatenate[HttpRequest, P], HttpResponse],
]:
    """Decorator for tenant-host views: members with at least `role` only (see module docstring)."""

    def decorate(
        view: Callable[Concatenate[TenantRequest, P], HttpResponse],
    ) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
        @wraps(view)
        def guarded(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            tenant = getattr(request, "tenant", None)
            if tenant is None:  # a tenant view reached on the public host: nothing to see
                raise Http404
            try:
                membership = tenant_access(user=request.user, tenant=tenant, role=role)
            except TenantAccessDenied as denied:
                return tenant_refusal(request, denied, role=role, template=refused_template)
            request.membership = membership  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)  # type: ignore[arg-type]

        return guarded

    return decorate
