"""Pages that compose several apps: the organization's home, its settings, the profile, the landing."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.errors import MembershipError
from accounts.forms import ProfileForm, RenameForm, RoleForm, TwoFactorRequirementForm
from accounts.guard import AuthenticatedRequest, TenantRequest, tenant_member
from accounts.models import Membership
from accounts.selectors import membership_list_for_tenant
from accounts.services import (
    membership_leave,
    membership_remove,
    membership_role_change,
    tenant_ownership_transfer,
    tenant_rename,
    tenant_two_factor_require,
    user_profile_update,
)
from activity.selectors import audit_recent
from billing.plans import PLANS
from billing.selectors import billing_account_get
from images.forms import ImageUploadForm
from images.selectors import avatar_get, image_view, logo_get
from images.services import avatar_set, logo_set
from jobs.forms import ReportRequestForm
from jobs.selectors import job_download_token, jobs_visible_to
from jobs.services import job_request
from notifications.selectors import notification_recent
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
            "notifications": list(notification_recent(user=request.user, limit=5)),
        },
    )


REPORTS_SHOWN = 50


@require_http_methods(["GET", "POST"])
@tenant_member()
def reports(request: TenantRequest) -> HttpResponse:
    """Start a report and watch it: progress arrives over the live socket (jobs/static/jobs/reports.js)."""
    form = ReportRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            job_request(kind=form.cleaned_data["kind"], params=form.params(), user_id=int(request.user.pk))
            messages.success(request, "Your report is being prepared; it appears below when ready.")
            return redirect("reports")
        status = 400
    jobs = jobs_visible_to(membership=request.membership)[:REPORTS_SHOWN]
    context = {"form": form, "jobs": jobs, "membership": request.membership}
    return render(request, "dashboard/reports.html", context, status=status)


@require_GET
@tenant_member()
def report_download(request: TenantRequest, job_id: int) -> HttpResponse:
    """A stable link on the page: checks who asks, then hands out a fresh short-lived signed link."""
    job = get_object_or_404(jobs_visible_to(membership=request.membership), pk=job_id, status="done")
    return redirect("job_download", token=job_download_token(job=job))


# --- settings (tenant host) -----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@tenant_member()
def settings_organization(request: TenantRequest) -> HttpResponse:
    """Name, logo, addresses, ownership and the way out: everyone sees it, admins rename, owners transfer."""
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
    return _settings_page(request, form=form, logo_form=ImageUploadForm(), status=status)


@require_POST
@tenant_member(role=Membership.Role.ADMIN)
def settings_logo(request: TenantRequest) -> HttpResponse:
    """Owners and admins upload the organization's logo; the thumbnails appear when the worker is done."""
    logo_form = ImageUploadForm(request.POST, request.FILES)
    if not logo_form.is_valid():
        form = RenameForm(initial={"name": request.tenant.name})
        return _settings_page(request, form=form, logo_form=logo_form, status=400)
    logo_set(actor=request.user, tenant=request.tenant, image=logo_form.cleaned_data["image"])
    messages.success(request, "The logo was uploaded; it appears here in a moment.")
    return redirect("settings_organization")


def _settings_page(
    request: TenantRequest, *, form: RenameForm, logo_form: ImageUploadForm, status: int
) -> HttpResponse:
    membership, tenant = request.membership, request.tenant
    others = [m for m in membership_list_for_tenant(tenant=tenant) if m.pk != membership.pk]
    context = {
        "membership": membership,
        "form": form,
        "logo_form": logo_form,
        "logo": image_view(logo_get(tenant=tenant)),
        "domains": sorted(tenant.domains.all(), key=lambda d: (not d.is_primary, d.domain)),
        "transfer_candidates": others,
        "two_factor_form": TwoFactorRequirementForm(
            initial={"require_two_factor": tenant.require_two_factor}
        ),
    }
    return render(request, "dashboard/settings_organization.html", context, status=status)


@require_POST
@tenant_member(role=Membership.Role.OWNER)
def settings_two_factor(request: TenantRequest) -> HttpResponse:
    """Owners switch the organization's two-factor requirement."""
    form = TwoFactorRequirementForm(request.POST)
    form.is_valid()  # a checkbox: always valid, absent means off
    required = bool(form.cleaned_data.get("require_two_factor"))
    try:
        tenant_two_factor_require(actor=request.user, tenant=request.tenant, required=required)
    except MembershipError as error:
        messages.error(request, error.message)
    else:
        state = "now requires" if required else "no longer requires"
        messages.success(request, f"{request.tenant.name} {state} two-factor authentication.")
    return redirect("settings_organization")


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


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: AuthenticatedRequest) -> HttpResponse:
    """Public host: the display name shown to teams instead of the email address, and the avatar."""
    form = ProfileForm(request.POST or None, initial={"full_name": request.user.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            user_profile_update(user=request.user, full_name=form.cleaned_data["full_name"])
        except ValidationError as error:
            form.add_error("full_name", error.message_dict.get("full_name", error.messages))
        else:
            messages.success(request, "Your profile was saved.")
            return redirect("profile")
    return _profile_page(request, form=form, avatar_form=ImageUploadForm())


@login_required
@require_POST
def profile_avatar(request: AuthenticatedRequest) -> HttpResponse:
    """Public host: upload the avatar; the thumbnails appear when the worker is done."""
    avatar_form = ImageUploadForm(request.POST, request.FILES)
    if not avatar_form.is_valid():
        form = ProfileForm(initial={"full_name": request.user.full_name})
        return _profile_page(request, form=form, avatar_form=avatar_form)
    avatar_set(user=request.user, image=avatar_form.cleaned_data["image"])
    messages.success(request, "Your picture was uploaded; it appears here in a moment.")
    return redirect("profile")


def _profile_page(
    request: AuthenticatedRequest, *, form: ProfileForm, avatar_form: ImageUploadForm
) -> HttpResponse:
    context = {"form": form, "avatar_form": avatar_form, "avatar": image_view(avatar_get(user=request.user))}
    status = 400 if form.errors or avatar_form.errors else 200
    return render(request, "dashboard/profile.html", context, status=status)


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    """The public home: what the product does, its plans (from billing.plans) and the way in."""
    return render(
        request,
        "dashboard/landing.html",
        {"plans": list(PLANS.values()), "base_domain": settings.SAAS_BASE_DOMAIN},
    )
