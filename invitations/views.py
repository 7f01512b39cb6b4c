"""Pages: the members page on a tenant host, the invitation link page on the public host."""

from allauth.core import ratelimit
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from accounts.guard import TenantAccessDenied, TenantRequest, tenant_member, tenant_refusal
from accounts.handoff import handoff_response
from accounts.models import Membership, User
from accounts.selectors import membership_list_for_tenant
from invitations.errors import InvitationError
from invitations.forms import AcceptWithNewAccountForm, InviteForm
from invitations.models import Invitation
from invitations.selectors import invitation_get_by_token, invitation_pending_list
from invitations.services import (
    invitation_accept,
    invitation_create,
    invitation_decline,
    invitation_resend,
    invitation_revoke,
)
from tenants.selectors import tenant_absolute_url

# --- tenant host ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@tenant_member()
def members(request: TenantRequest) -> HttpResponse:
    """Members with roles and pending invitations; admins and owners also invite from here."""
    membership, tenant = request.membership, request.tenant
    form = InviteForm(request.POST or None, inviter_role=membership.role)
    if request.method == "POST":
        if not membership.is_admin:
            return tenant_refusal(
                request,
                TenantAccessDenied(TenantAccessDenied.ROLE_TOO_LOW, membership),
                role=Membership.Role.ADMIN,
            )
        if form.is_valid() and not ratelimit.consume(
            request, action="invitation_create", key=tenant.schema_name
        ):
            # Per inviter and per organization (INVITATION_RATE_LIMIT): each one emails an
            # address and an organization name of the inviter's choosing.
            form.add_error(None, "Too many invitations sent recently. Please wait a while and try again.")
            return render(request, "invitations/members.html", _members_context(request, form), status=429)
        if form.is_valid():
            try:
                invitation = invitation_create(
                    tenant=tenant,
                    inviter=request.user,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                )
            except InvitationError as error:
                if error.code == "seat_limit":
                    # The way out of a full plan is one click away, for the people who can take it.
                    form.add_error(
                        "email",
                        format_html(
                            '{} <a href="{}">See plans and billing</a>', error.message, reverse("billing")
                        ),
                    )
                else:
                    form.add_error("role" if error.code == "role" else "email", error.message)
            else:
                # The link goes to the invitee's mailbox only: an account made from it is
                # verified by that alone, so nobody else, the inviter included, may see it.
                messages.success(request, f"Invitation sent to {invitation.email}.")
                return redirect("members")
    return render(
        request,
        "invitations/members.html",
        _members_context(request, form),
        status=400 if form.errors else 200,
    )


def _members_context(request: TenantRequest, form: InviteForm) -> dict[str, object]:
    return {
        "membership": request.membership,
        "members": membership_list_for_tenant(tenant=request.tenant),
        "pending": invitation_pending_list(tenant=request.tenant),
        "form": form,
        "roles": Membership.Role.choices,
    }


def _tenant_invitation(request: TenantRequest, invitation_id: int) -> Invitation:
    return get_object_or_404(Invitation, id=invitation_id, tenant=request.tenant)


@require_POST
@tenant_member(role=Membership.Role.ADMIN)
def resend(request: TenantRequest, invitation_id: int) -> HttpResponse:
    invitation = _tenant_invitation(request, invitation_id)
    try:
        invitation_resend(invitation=invitation, actor=request.user)
    except InvitationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"Invitation sent again to {invitation.email}; the earlier link no longer works."
        )
    return redirect("members")


@require_POST
@tenant_member(role=Membership.Role.ADMIN)
def revoke(request: TenantRequest, invitation_id: int) -> HttpResponse:
    invitation = _tenant_invitation(request, invitation_id)
    try:
        invitation_revoke(invitation=invitation, actor=request.user)
    except InvitationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The invitation for {invitation.email} was withdrawn.")
    return redirect("members")


# --- public host ---------------------------------------------------------------------------


def _tenant_home(request: HttpRequest, user: User, invitation: Invitation) -> HttpResponse:
    """Land on the organization's dashboard, logged in there (sessions are per host)."""
    return handoff_response(request, user=user, tenant=invitation.tenant)


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Accept or decline: for the signed-in invitee, or a new account made from the link."""
    found = invitation_get_by_token(token=token)
    if found is None:
        return render(request, "invitations/invalid.html", status=404)
    user = request.user
    context: dict[str, object] = {"invitation": found, "token": token}
    signup_form = AcceptWithNewAccountForm(request.POST if request.POST.get("action") == "signup" else None)
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "decline":
                invitation_decline(invitation=found, user=user)  # type: ignore[arg-type]
                messages.info(request, f"You declined the invitation to {found.tenant.name}.")
                return redirect(request.path)
            if action == "accept" and user.is_authenticated:
                invitation_accept(invitation=found, user=user)
                messages.success(request, f"You joined {found.tenant.name} as {found.get_role_display()}.")
                return _tenant_home(request, user, found)
            if action == "signup" and not user.is_authenticated and signup_form.is_valid():
                try:
                    membership = invitation_accept(invitation=found, **signup_form.cleaned_data)
                except ValidationError as invalid:
                    for field, field_errors in invalid.message_dict.items():
                        signup_form.add_error(field if field in signup_form.fields else None, field_errors)
                else:
                    login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
                    messages.success(
                        request, f"Welcome! You joined {found.tenant.name} as {found.get_role_display()}."
                    )
                    return _tenant_home(request, membership.user, found)
        except InvitationError as refused:
            error = refused.message
        found.refresh_from_db()
    context.update(_invitation_view_state(found, user, request.path))  # type: ignore[arg-type]
    context.update({"error": error, "signup_form": signup_form})
    status = 200
    if error or signup_form.errors:
        status = 409 if context["closed"] else 400
    return render(request, "invitations/invitation.html", context, status=status)


def _invitation_view_state(found: Invitation, user: User, path: str) -> dict[str, object]:
    closed = found.closed_message(timezone.now())
    state: dict[str, object] = {
        "closed": closed,
        "tenant_home": tenant_absolute_url(tenant=found.tenant),
    }
    if closed:
        return state
    if user.is_authenticated:
        state["wrong_user"] = user.email.lower() != found.email
        state["already_member"] = Membership.objects.filter(user=user, tenant=found.tenant).exists()
    else:
        state["has_account"] = User.objects.filter(email__iexact=found.email).exists()
        state["login_url"] = f"{reverse('account_login')}?{urlencode({'next': path})}"
    return state
