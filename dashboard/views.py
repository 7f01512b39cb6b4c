"""Pages that compose several apps: the organization's home, its settings, the profile, the landing."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
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
from activity.selectors import audit_list, audit_recent
from billing.plans import PLANS
from billing.selectors import billing_account_get
from dashboard.forms import AccountDeleteForm, AuditFilterForm, OrganizationDeleteForm
from images.forms import ImageUploadForm
from images.selectors import avatar_get, image_view, logo_get
from images.services import avatar_set, logo_set
from jobs.forms import ReportRequestForm
from jobs.selectors import job_download_token, jobs_visible_to
from jobs.services import job_request
from lifecycle.errors import LifecycleError
from lifecycle.models import OrganizationExport
from lifecycle.selectors import deletion_pending
from lifecycle.services import (
    tenant_deletion_cancel,
    tenant_deletion_schedule,
    tenant_export_request,
    user_account_delete,
)
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
            "pending_deletion": deletion_pending(tenant=request.tenant),
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


AUDIT_PAGE_SIZE = 50


@require_GET
@tenant_member(role=Membership.Role.ADMIN)
def audit_log(request: TenantRequest) -> HttpResponse:
    """The organization's audit log, owners and admins: filter by who, what and when; page back."""
    members = list(membership_list_for_tenant(tenant=request.tenant))
    form = AuditFilterForm(request.GET or None, members=members)
    if request.GET and not form.is_valid():
        return render(request, "dashboard/audit_log.html", {"form": form, "events": []}, status=400)
    selection = form.selection() if request.GET else {}
    events = list(audit_list(**selection)[: AUDIT_PAGE_SIZE + 1])
    older = None
    if len(events) > AUDIT_PAGE_SIZE:
        events = events[:AUDIT_PAGE_SIZE]
        query = request.GET.copy()
        query["before"] = str(events[-1].pk)
        older = query.urlencode()
    query = request.GET.copy()
    query.pop("before", None)
    context = {
        "form": form,
        "events": events,
        "older": older,
        "paged": bool(selection.get("before_id")),
        "newest": query.urlencode(),
    }
    return render(request, "dashboard/audit_log.html", context)


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
        "pending_deletion": deletion_pending(tenant=tenant),
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


@require_http_methods(["GET", "POST"])
@tenant_member(role=Membership.Role.OWNER)
def organization_delete(request: TenantRequest) -> HttpResponse:
    """Owners: what deleting does; schedule it by typing the subdomain (cancellable for a while)."""
    form = OrganizationDeleteForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            deletion = tenant_deletion_schedule(
                tenant=request.tenant, actor=request.user, confirm=form.cleaned_data["confirm"]
            )
        except LifecycleError as error:
            form.add_error(error.field, error.message)
        else:
            messages.warning(
                request,
                f"{request.tenant.name} will be deleted on {deletion.due_at:%Y-%m-%d %H:%M} UTC. "
                "Any owner can cancel until then.",
            )
            return redirect("settings_delete")
    context = {
        "membership": request.membership,
        "form": form,
        "pending_deletion": deletion_pending(tenant=request.tenant),
        "grace_days": settings.TENANT_DELETION_GRACE_DAYS,
    }
    return render(request, "dashboard/settings_delete.html", context, status=400 if form.errors else 200)


@require_POST
@tenant_member(role=Membership.Role.OWNER)
def organization_delete_cancel(request: TenantRequest) -> HttpResponse:
    try:
        tenant_deletion_cancel(tenant=request.tenant, actor=request.user)
    except LifecycleError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{request.tenant.name} will not be deleted.")
    return redirect("settings_delete")


@require_http_methods(["GET", "POST"])
@tenant_member(role=Membership.Role.OWNER)
def organization_export(request: TenantRequest) -> HttpResponse:
    """Owners: ask for a zip of the organization's data; the latest exports, to download."""
    if request.method == "POST":
        try:
            tenant_export_request(tenant=request.tenant, actor=request.user)
        except LifecycleError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "The export is being prepared; we will email you when it is ready.")
        return redirect("settings_export")
    exports = OrganizationExport.objects.filter(tenant=request.tenant)[:10]
    return render(
        request, "dashboard/settings_export.html", {"exports": exports, "membership": request.membership}
    )


@require_GET
@tenant_member(role=Membership.Role.OWNER)
def organization_export_download(request: TenantRequest, export_id: int) -> HttpResponse:
    export = get_object_or_404(
        OrganizationExport, pk=export_id, tenant=request.tenant, state=OrganizationExport.State.DONE
    )
    # Streamed, never read into memory; the guard's decorator is typed for HttpResponse only.
    return FileResponse(  # type: ignore[return-value]
        default_storage.open(export.file_name, "rb"),
        as_attachment=True,
        filename=export.file_name.rsplit("/", 1)[-1],
        content_type="application/zip",
    )


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


@require_http_methods(["GET", "POST"])
@login_required
def account_delete(request: HttpRequest) -> HttpResponse:
    """Delete your own account (type your email); refused while you are an organization's only owner."""
    user = request.user
    form = AccountDeleteForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        if form.cleaned_data["confirm"].strip().lower() != user.email.lower():  # type: ignore[union-attr]
            form.add_error("confirm", f"Type {user.email} to confirm.")  # type: ignore[union-attr]
        else:
            try:
                user_account_delete(user=user)  # type: ignore[arg-type]
            except LifecycleError as error:
                form.add_error(None, error.message)
            else:
                logout(request)
                messages.success(request, "Your account was deleted.")
                return redirect("landing")
    return render(
        request, "dashboard/account_delete.html", {"form": form}, status=400 if form.errors else 200
    )


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    """The public home: what the product does, its plans (from billing.plans) and the way in."""
    return render(
        request,
        "dashboard/landing.html",
        {"plans": list(PLANS.values()), "base_domain": settings.SAAS_BASE_DOMAIN},
    )
