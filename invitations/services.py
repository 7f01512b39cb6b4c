"""Writes for invitations. Each service is one transaction that locks the invitation first.

The model's transitions only set state and timestamps; the work around them (membership,
audit row, events, cache) happens here, all of it or none of it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import ROLE_RANK, Membership, User, email_normalize
from accounts.services import membership_create
from activity.models import AuditAction
from activity.services import audit_record
from billing.services import seat_check
from invitations.cache import invitation_cache_clear_on_commit
from invitations.errors import InvitationBusy, InvitationError
from invitations.models import Invitation
from invitations.tokens import token_for_salt, token_salt_new
from saas.crypto import token_hash
from saas.events import DomainEvent
from saas.signals import (
    InvitationChanged,
    MemberJoined,
    invitation_created,
    invitation_declined,
    invitation_expired,
    invitation_reminder_due,
    invitation_resent,
    member_joined,
)
from saas.text import display_text_clean
from tenants.models import Tenant

LOCK_NOT_AVAILABLE = "55P03"


def _lock_timeout() -> None:
    # A held row lock (a concurrent accept, an admin's revoke) makes us wait at most this
    # long; then PostgreSQL raises 55P03 and the whole transaction is rolled back.
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [settings.INVITATION_LOCK_TIMEOUT])


def _locked(queryset, *, no_key: bool = False, **lookup):
    """select_for_update() one row, turning a lock timeout into a clear "try again"."""
    _lock_timeout()
    try:
        return queryset.select_for_update(of=("self",), no_key=no_key).get(**lookup)
    except DatabaseError as error:
        if getattr(getattr(error, "__cause__", None), "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise InvitationBusy() from error
        raise


def _lock_invitation(invitation: Invitation) -> Invitation:
    return _locked(Invitation.objects.select_related("tenant"), pk=invitation.pk)


def _lock_tenant(tenant: Tenant) -> Tenant:
    # Serializes seat counting per tenant: two invitations (or accepts) cannot both take
    # the last seat. NO KEY UPDATE: inserts elsewhere that merely reference the tenant (their
    # foreign-key checks take KEY SHARE) are not held up.
    return _locked(Tenant.objects.all(), no_key=True, pk=tenant.pk)


def _admin_membership(*, user: User, tenant: Tenant) -> Membership:
    membership = Membership.objects.filter(user=user, tenant=tenant).first()
    if membership is None or not membership.is_admin:
        raise InvitationError("Only owners and admins can manage invitations.", code="forbidden")
    return membership


def _seat_check(*, tenant: Tenant, adding: int) -> None:
    try:
        seat_check(tenant=tenant, adding=adding)
    except ValidationError as error:
        raise InvitationError(" ".join(error.messages), code="seat_limit") from error


def _audit(
    invitation: Invitation, action: AuditAction, actor: User | None, *, changes: dict[str, list[object]]
) -> None:
    with schema_context(invitation.tenant.schema_name):
        audit_record(
            action=action,
            actor=actor,
            target=invitation.email,
            data={"invitation_id": invitation.pk, "role": invitation.role},
            changes=changes,
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _publish(invitation: Invitation, event: DomainEvent[InvitationChanged]) -> None:
    event.publish(
        InvitationChanged(invitation_id=invitation.pk, tenant_id=invitation.tenant_id),
        tenant_schema=invitation.tenant.schema_name,
    )


def invitation_link(*, invitation: Invitation) -> str:
    """The accept/decline link for the current token (public host)."""
    from saas.hosts import public_url

    return public_url(f"/invitations/{token_for_salt(invitation.token_salt)}/")


def _issue_token(invitation: Invitation, now) -> None:
    invitation.token_salt = token_salt_new()
    invitation.token_hash = token_hash(token_for_salt(invitation.token_salt))
    invitation.issued_at = now
    invitation.expires_at = now + timedelta(days=settings.INVITATION_EXPIRY_DAYS)
    invitation.reminder_sent_at = None


@transaction.atomic
def invitation_create(*, tenant: Tenant, inviter: User, email: str, role: str) -> Invitation:
    """Invite an email address to a tenant with a role; the email goes out after commit."""
    tenant = _lock_tenant(tenant)
    inviter_membership = _admin_membership(user=inviter, tenant=tenant)
    email = email_normalize(email)
    if role not in ROLE_RANK:
        raise InvitationError("Choose a valid role.", code="role")
    if ROLE_RANK[Membership.Role(role)] < ROLE_RANK[Membership.Role(inviter_membership.role)]:
        raise InvitationError("You cannot invite someone with a role above your own.", code="role")
    if email == email_normalize(inviter.email):
        raise InvitationError("You are already a member; you cannot invite yourself.", code="self")
    if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
        raise InvitationError(f"{email} is already a member of {tenant.name}.", code="member")
    if Invitation.objects.filter(tenant=tenant, email__iexact=email, state=Invitation.State.PENDING).exists():
        raise InvitationError(
            f"{email} already has a pending invitation; resend it instead.", code="duplicate"
        )
    _seat_check(tenant=tenant, adding=1)
    now = timezone.now()
    invitation = Invitation(tenant=tenant, email=email, role=role, invited_by=inviter)
    _issue_token(invitation, now)
    invitation.full_clean(exclude=["state"])  # protected FSM field: set only by transitions
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError as error:  # the pending-unique constraint, under a race we lost
        raise InvitationError(f"{email} already has a pending invitation.", code="duplicate") from error
    _audit(
        invitation,
        AuditAction.INVITATION_CREATED,
        inviter,
        changes={"state": [None, invitation.state], "role": [None, invitation.role]},
    )
    _publish(invitation, invitation_created)
    invitation_cache_clear_on_commit(tenant=tenant)
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor: User) -> Invitation:
    """Renew a pending invitation's expiry, rotate its token (old links stop working), email it."""
    invitation = _lock_invitation(invitation)
    if not actor.is_staff:  # staff act from the Django admin, outside any tenant
        _admin_membership(user=actor, tenant=invitation.tenant)
    invitation._guard_pending()
    now = timezone.now()
    wait = settings.INVITATION_RESEND_INTERVAL - (now - invitation.issued_at).total_seconds()
    if wait > 0:
        raise InvitationError(
            f"This invitation was just sent; try again in {int(wait) + 1} seconds.", code="rate_limited"
        )
    previous_expiry = invitation.expires_at
    _issue_token(invitation, now)
    invitation.save(update_fields=["token_salt", "token_hash", "issued_at", "expires_at", "reminder_sent_at"])
    _audit(
        invitation,
        AuditAction.INVITATION_RESENT,
        actor,
        changes={"expires_at": [_iso(previous_expiry), _iso(invitation.expires_at)]},
    )
    _publish(invitation, invitation_resent)
    invitation_cache_clear_on_commit(tenant=invitation.tenant)
    return invitation


def _new_user(*, email: str, password: str, full_name: str) -> User:
    try:
        validate_password(password, User(email=email, full_name=full_name))
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    user = User.objects.create_user(email, password, full_name=display_text_clean(full_name))
    # Following the emailed link proves the address, so it starts verified.
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, user: User | None = None, password: str = "", full_name: str = ""
) -> Membership:
    """Join the tenant as the signed-in `user` whose email matches, or as a new account."""
    # User, membership, state change, audit rows and the member.joined event commit together
    # or not at all; the invitation row is locked first so concurrent accepts queue up.
    invitation = _lock_invitation(invitation)
    invitation._guard_open()
    tenant = invitation.tenant
    if user is not None and user.is_authenticated:
        if email_normalize(user.email) != invitation.email:
            raise InvitationError(
                f"This invitation is for {invitation.email}, but you are signed in as {user.email}.",
                code="wrong_user",
            )
    else:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise InvitationError(
                "An account with this email already exists: log in to accept.", code="login_required"
            )
        try:
            with transaction.atomic():
                user = _new_user(email=invitation.email, password=password, full_name=full_name)
        except IntegrityError as error:  # the address signed up on its own a moment ago
            raise InvitationError(
                "An account with this email already exists: log in to accept.", code="login_required"
            ) from error
    if Membership.objects.filter(tenant=tenant, user=user).exists():
        raise InvitationError(f"You are already a member of {tenant.name}.", code="member")
    _lock_tenant(tenant)
    # This invitation already holds one of the counted seats; accepting turns it into a
    # member (net zero), so refuse only if the tenant is already over its limit.
    _seat_check(tenant=tenant, adding=0)
    try:
        with transaction.atomic():
            membership = membership_create(user=user, tenant=tenant, role=invitation.role)
    except (IntegrityError, ValidationError) as error:  # refused by the database or a racing join
        raise InvitationError(
            "We could not add you to the organization; nothing was changed. Please try again.",
            code="membership",
        ) from error
    now = timezone.now()
    before = invitation.state
    invitation.accept(at=now)
    invitation.decided_by = user
    invitation.save(update_fields=["state", "decided_at", "decided_by"])
    _audit(invitation, AuditAction.INVITATION_ACCEPTED, user, changes={"state": [before, invitation.state]})
    member_joined.publish(
        MemberJoined(user_id=user.pk, tenant_id=tenant.pk, role=invitation.role, invitation_id=invitation.pk),
        tenant_schema=tenant.schema_name,
    )
    invitation_cache_clear_on_commit(tenant=tenant)
    return membership


@transaction.atomic
def invitation_decline(*, invitation: Invitation, user: User | None = None) -> Invitation:
    """The invitee says no; the link stops working."""
    invitation = _lock_invitation(invitation)
    actor = user if user is not None and user.is_authenticated else None
    if actor is not None and email_normalize(actor.email) != invitation.email:
        raise InvitationError(
            f"This invitation is for {invitation.email}, but you are signed in as {actor.email}.",
            code="wrong_user",
        )
    before = invitation.state
    invitation.decline(at=timezone.now())
    invitation.decided_by = actor
    invitation.save(update_fields=["state", "decided_at", "decided_by"])
    _audit(invitation, AuditAction.INVITATION_DECLINED, actor, changes={"state": [before, invitation.state]})
    _publish(invitation, invitation_declined)
    invitation_cache_clear_on_commit(tenant=invitation.tenant)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User) -> Invitation:
    """An admin withdraws a pending invitation; its link stops working."""
    invitation = _lock_invitation(invitation)
    if not actor.is_staff:  # staff act from the Django admin, outside any tenant
        _admin_membership(user=actor, tenant=invitation.tenant)
    before = invitation.state
    invitation.revoke(at=timezone.now())
    invitation.decided_by = actor
    invitation.save(update_fields=["state", "decided_at", "decided_by"])
    _audit(invitation, AuditAction.INVITATION_REVOKED, actor, changes={"state": [before, invitation.state]})
    invitation_cache_clear_on_commit(tenant=invitation.tenant)
    return invitation


@transaction.atomic
def invitation_expire(*, invitation: Invitation) -> Invitation:
    """Close a pending invitation whose expiry date has passed."""
    invitation = _lock_invitation(invitation)
    before = invitation.state
    invitation.expire(at=timezone.now())
    invitation.save(update_fields=["state", "decided_at"])
    _audit(invitation, AuditAction.INVITATION_EXPIRED, None, changes={"state": [before, invitation.state]})
    _publish(invitation, invitation_expired)
    invitation_cache_clear_on_commit(tenant=invitation.tenant)
    return invitation


@transaction.atomic
def invitation_remind(*, invitation: Invitation) -> Invitation:
    """Mark one reminder as due (once per token) and queue its email after commit."""
    invitation = _lock_invitation(invitation)
    invitation._guard_open()
    if invitation.reminder_sent_at is not None:
        raise InvitationError("A reminder was already sent for this invitation.", code="reminded")
    invitation.reminder_sent_at = timezone.now()
    invitation.save(update_fields=["reminder_sent_at"])
    _audit(
        invitation,
        AuditAction.INVITATION_REMINDED,
        None,
        changes={"reminder_sent_at": [None, _iso(invitation.reminder_sent_at)]},
    )
    _publish(invitation, invitation_reminder_due)
    return invitation


def invitation_mark_sent(*, invitation: Invitation) -> None:
    """Record when an invitation email went out (bookkeeping shown on the members page)."""
    Invitation.objects.filter(id=invitation.pk).update(sent_at=timezone.now())
    invitation_cache_clear_on_commit(tenant=invitation.tenant)


REMIND_BEFORE = timedelta(days=1)


def invitations_expire_and_remind(*, limit: int = 500) -> dict[str, int]:
    """Beat: expire pending invitations past their date, remind those expiring within a day."""
    # Each invitation is its own transaction: one busy or failing row never holds up the rest.
    now = timezone.now()
    pending = Invitation.objects.filter(state=Invitation.State.PENDING)
    expired = reminded = 0
    for invitation in pending.filter(expires_at__lte=now).order_by("expires_at")[:limit]:
        try:
            invitation_expire(invitation=invitation)
            expired += 1
        except InvitationError:
            continue  # accepted, revoked or renewed meanwhile, or locked: the next run sees it
    due = pending.filter(
        expires_at__gt=now,
        expires_at__lte=now + REMIND_BEFORE,
        reminder_sent_at__isnull=True,
        issued_at__lte=now - REMIND_BEFORE,
    ).order_by("expires_at")[:limit]
    for invitation in due:
        try:
            invitation_remind(invitation=invitation)
            reminded += 1
        except InvitationError:
            continue
    return {"expired": expired, "reminded": reminded}
