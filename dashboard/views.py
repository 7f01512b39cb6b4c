"""Pages that compose several apps: the organization's home, its settings, the public landing."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.errors import MembershipError
from accounts.forms import RenameForm, RoleForm
from accounts.guard import TenantRequest, tenant_member
from accounts.models import Membership
from accounts.selectors import membership_list_for_tenant
from accounts.services import (
    membership_leave,
    membership_remove,
    membership_role_change,
    tenant_ownership_transfer,
    tenant_rename,
)
from activity.selectors import audit_recent
from billing.plans import PLANS
from billing.selectors import billing_account_get
from notifications.selectors import notification_recent
from realtime.selectors import RECENT_NOTIFICATIONS
from saas.hosts import public_url


@require_GET
@tenant_member()
def dashboard(request: TenantRequest) -> HttpResponse:
    """The organization's home: members, plan, notifications and recent activity. Members only."""
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "membership": request.membership,
            "billing_account": billing_account_get(tenant=request.tenant),
            "members": membership_list_for_tenant(tenant=request.tenant),
            "activity": audit_recent(limit=10),
            "notifications": list(notification_recent(user=request.user, limit=RECENT_NOTIFICATIONS)),
        },
    )


# --- settings (tenant host) -----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@tenant_member()
def settings_organization(request: TenantRequest) -> HttpResponse:
    """Name, addresses, ownership and the way out: everyone sees it, admins rename, owners transfer."""
    membership, tenant = request.membership, request.tenant
    form = RenameForm(request.POST or None, initial={"name": tenant.name})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                tenant_rename(actor=request.user, tenant=tenant, name=form.cleaned_data["name"])
            except MembershipError as error:
                form.add_error("name", error.message)
            else:
                messages.success(request, "The organization's name was saved.")
                return redirect("settings_organization")
        status = 403 if not membership.is_admin else 400
    others = [m for m in membership_list_for_tenant(tenant=tenant) if m.pk != membership.pk]
    context = {
        "membership": membership,
        "form": form,
        "domains": sorted(tenant.domains.all(), key=lambda d: (not d.is_primary, d.domain)),
        "transfer_candidates": others,
    }
    return render(request, "dashboard/settings_organization.html", context, status=status)


def _member_of_tenant(request: TenantRequest, membership_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "tenant"), pk=membership_id, tenant=request.tenant
    )


@require_POST
@tenant_member(role=Membership.Role.ADMIN)
def member_role(request: TenantRequest, membership_id: int) -> HttpResponse:
    target = _member_of_tenant(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("members")
    try:
        changed = membership_role_change(
            actor=request.user, membership=target, role=form.cleaned_data["role"]
        )
    except MembershipError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{changed.user.get_full_name()} is now {changed.get_role_display()}.")
    # The actor may have demoted themselves out of the members page's admin view: it still shows.
    return redirect("members")


@require_POST
@tenant_member(role=Membership.Role.ADMIN)
def member_remove(request: TenantRequest, membership_id: int) -> HttpResponse:
    target = _member_of_tenant(request, membership_id)
    try:
        membership_remove(actor=request.user, membership=target)
    except MembershipError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{target.user.get_full_name()} was removed from {request.tenant.name}.")
    return redirect("members")


@require_POST
@tenant_member()
def organization_leave(request: TenantRequest) -> HttpResponse:
    try:
        membership_leave(membership=request.membership)
    except MembershipError as error:
        messages.error(request, error.message)
        return redirect("settings_organization")
    # Not a member here any more: the public host lists what is left.
    return HttpResponseRedirect(public_url("/orgs/"))


@require_POST
@tenant_member(role=Membership.Role.OWNER)
def ownership_transfer(request: TenantRequest) -> HttpResponse:
    try:
        target = _member_of_tenant(request, int(request.POST.get("membership", "0") or 0))
        new_owner = tenant_ownership_transfer(actor=request.user, membership=target)
    except (ValueError, MembershipError) as error:
        messages.error(request, getattr(error, "message", "Choose a member."))
    else:
        messages.success(request, f"{new_owner.user.get_full_name()} is now the owner; you are an admin.")
    return redirect("settings_organization")


@require_GET
@tenant_member(role=Membership.Role.OWNER)
def organization_delete(request: TenantRequest) -> HttpResponse:
    """What deleting will do, and that it is not available yet (said plainly, nothing faked)."""
    return render(request, "dashboard/settings_delete.html", {"membership": request.membership})


# --- public host ------------------------------------------------------------------------------


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    """The public home: what the product does, its plans (from billing.plans) and the way in."""
    return render(
        request,
        "dashboard/landing.html",
        {"plans": list(PLANS.values()), "base_domain": settings.SAAS_BASE_DOMAIN},
    )
