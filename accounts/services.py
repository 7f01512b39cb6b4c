"""Writes for users and memberships. Each service owns its transaction."""

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

import structlog
from allauth.account.models import EmailAddress
from allauth.mfa.utils import is_mfa_enabled
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import ProgrammingError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.errors import MembershipError
from accounts.models import ROLE_RANK, LoginHandoff, Membership, User, email_normalize
from activity.models import AuditAction
from activity.services import audit_record
from saas.crypto import token_hash
from saas.events import DomainEvent
from saas.signals import (
    MembershipChanged,
    TenantRenamed,
    UserSignedUp,
    member_left,
    member_removed,
    member_role_changed,
    tenant_renamed,
    user_signed_up,
)
from saas.text import display_text_clean
from tenants.models import Domain, Tenant
from tenants.services import tenant_domain_for_slug, tenant_provision
from tenants.validators import RESERVED_SLUGS, validate_slug

logger = structlog.get_logger(__name__)


@transaction.atomic
def tenant_create_with_owner(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_password: str | None = None,
    custom_domain: str | None = None,
) -> Tenant:
    """Provision a tenant and make `owner_email` its owner (creating that account if new)."""
    owner = User.objects.filter(email__iexact=email_normalize(owner_email)).first()
    if owner is None:
        owner = User.objects.create_user(owner_email, owner_password)
    tenant = tenant_provision(name=name, slug=slug, custom_domain=custom_domain, actor=owner)
    membership_create(user=owner, tenant=tenant, role=Membership.Role.OWNER)
    return tenant


@transaction.atomic
def membership_create(*, user: User, tenant: Tenant, role: str) -> Membership:
    """Add a user to a tenant with a role, with its audit row: both or neither."""
    membership = Membership(user=user, tenant=tenant, role=role)
    membership.full_clean()
    membership.save()
    with schema_context(tenant.schema_name):
        audit_record(
            action=AuditAction.MEMBER_ADDED,
            actor=user,
            target=user.email,
            data={"role": role},
            changes={"role": [None, role]},
        )
    return membership


# --- Sign-up -------------------------------------------------------------------------------

# Keys of tenant_provision's errors, as the fields of the sign-up they come from.
_PROVISION_FIELD = {
    "slug": "subdomain",
    "domain": "subdomain",
    "schema_name": "subdomain",
    "name": "organization_name",
}
_DERIVED_SLUG_ATTEMPTS = 4


@dataclass(frozen=True)
class SignUp:
    user: User
    tenant: Tenant
    membership: Membership


def slug_from_name(name: str) -> str:
    """A DNS-safe subdomain from an organization's name ("Acme & Co." -> "acme-co")."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    slug = re.sub(r"-{2,}", "-", slug)[:30].strip("-")
    if len(slug) < 2 or slug in RESERVED_SLUGS:
        slug = f"{slug}-org" if slug else "org"
    return slug


def _slug_free(slug: str) -> bool:
    # A leftover schema without a tenant is not checked here: provisioning fails on it and
    # the sign-up reports it (and, for a derived subdomain, tries another).
    return not (
        Tenant.objects.filter(slug=slug).exists()
        or Domain.objects.filter(domain__iexact=tenant_domain_for_slug(slug)).exists()
    )


def _slug_candidates(organization_name: str) -> list[str]:
    base = slug_from_name(organization_name)
    # Suffixes are random, not counters, so two concurrent "Acme" sign-ups rarely collide.
    return [base] + [f"{base}-{secrets.token_hex(2)}" for _ in range(_DERIVED_SLUG_ATTEMPTS - 1)]


def _as_field_errors(error: ValidationError) -> ValidationError:
    if not hasattr(error, "error_dict"):
        return ValidationError({"subdomain": error.messages})
    return ValidationError(
        {_PROVISION_FIELD.get(key, key): messages for key, messages in error.message_dict.items()}
    )


def _provision(*, organization_name: str, slug: str, owner: User) -> Tenant:
    """tenant_provision in a savepoint; any failure becomes a field error of the sign-up."""
    try:
        with transaction.atomic():
            return tenant_provision(name=organization_name, slug=slug, actor=owner)
    except ValidationError as error:
        raise _as_field_errors(error) from error
    except ProgrammingError as error:
        # e.g. a leftover schema with this name: the tenant cannot be made, the user can pick
        # another subdomain; everything else of the sign-up rolls back with the caller.
        logger.warning("tenant provisioning failed", slug=slug, error=repr(error))
        raise ValidationError(
            {"subdomain": "We could not create a workspace with this subdomain. Choose another one."}
        ) from error


def _organization_errors(*, organization_name: str, subdomain: str | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not organization_name:
        errors["organization_name"] = ["Enter your organization's name."]
    if subdomain is not None:
        try:
            validate_slug(subdomain)
        except ValidationError as error:
            errors["subdomain"] = error.messages
        else:
            if not _slug_free(subdomain):
                errors["subdomain"] = ["This subdomain is already taken."]
    return errors


def _organization_provision(*, owner: User, organization_name: str, subdomain: str | None) -> Membership:
    """The organization of a sign-up or of an existing user's "New organization": one path."""
    if subdomain is not None:
        tenant = _provision(organization_name=organization_name, slug=subdomain, owner=owner)
    else:
        tenant = _provision_derived(organization_name=organization_name, owner=owner)
    return membership_create(user=owner, tenant=tenant, role=Membership.Role.OWNER)


@transaction.atomic
def organization_create(*, user: User, organization_name: str, subdomain: str | None = None) -> Membership:
    """A signed-in user starts another organization and owns it (no second account)."""
    organization_name = display_text_clean(organization_name)
    subdomain = (subdomain or "").strip().lower() or None
    errors = _organization_errors(organization_name=organization_name, subdomain=subdomain)
    if errors:
        raise ValidationError(errors)
    return _organization_provision(owner=user, organization_name=organization_name, subdomain=subdomain)


@transaction.atomic
def user_sign_up(
    *,
    email: str,
    password: str,
    organization_name: str,
    subdomain: str | None = None,
    full_name: str = "",
) -> SignUp:
    """Create an account, its organization (tenant, schema, domain) and owner membership."""
    email = email_normalize(email)
    organization_name = display_text_clean(organization_name)
    subdomain = (subdomain or "").strip().lower() or None
    # Two submissions of the same form must not both get past the "email free" check: the
    # second waits here until the first commits, then sees the account.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"sign-up:{email}"])

    errors = _organization_errors(organization_name=organization_name, subdomain=subdomain)
    user = User(email=email, full_name=display_text_clean(full_name))
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        errors.update({"email" if k == "__all__" else k: v for k, v in error.message_dict.items()})
    try:
        validate_password(password, user)
    except ValidationError as error:
        errors["password"] = error.messages
    if errors:
        raise ValidationError(errors)

    user.set_password(password)
    user.save()
    # allauth's record of the address: the welcome email carries its confirmation link.
    address = EmailAddress(user=user, email=email, primary=True, verified=False)
    address.full_clean(validate_unique=False)
    address.save()
    membership = _organization_provision(owner=user, organization_name=organization_name, subdomain=subdomain)
    tenant = membership.tenant
    user_signed_up.publish(
        UserSignedUp(user_id=user.pk, tenant_id=tenant.pk), tenant_schema=tenant.schema_name
    )
    return SignUp(user=user, tenant=tenant, membership=membership)


def _provision_derived(*, organization_name: str, owner: User) -> Tenant:
    """Provision under a subdomain derived from the name, adding a suffix when it is taken."""
    last_error: ValidationError | None = None
    for slug in _slug_candidates(organization_name):
        if not _slug_free(slug):
            continue
        try:
            return _provision(organization_name=organization_name, slug=slug, owner=owner)
        except ValidationError as error:
            if "subdomain" not in error.message_dict:
                raise
            last_error = error  # taken by a concurrent sign-up meanwhile: try the next one
    raise last_error or ValidationError(
        {"subdomain": "We could not find a free subdomain for this name. Choose one."}
    )


# --- Member management ------------------------------------------------------------------------
#
# Every change to who is in an organization, and with which role, serializes on the tenant's
# row (FOR NO KEY UPDATE, as invitations do for seats): "is this the last owner?" is then
# answered on rows nobody else is changing. The tenant guard reads the membership on every
# request, so a removal or demotion takes effect on the person's next request.


def _lock_tenant(tenant: Tenant) -> Tenant:
    return Tenant.objects.select_for_update(no_key=True).get(pk=tenant.pk)


def _locked_membership(*, user: User, tenant: Tenant) -> Membership:
    membership = (
        Membership.objects.select_for_update().select_related("user").filter(user=user, tenant=tenant).first()
    )
    if membership is None:
        raise MembershipError("This person is not a member of the organization.", code="not_member")
    return membership


def _owner_count(tenant: Tenant) -> int:
    return Membership.objects.filter(tenant=tenant, role=Membership.Role.OWNER).count()


def _manager(*, actor: User, tenant: Tenant, target: Membership) -> Membership:
    """The actor's membership if they may manage `target` (admins never touch owners)."""
    acting = _locked_membership(user=actor, tenant=tenant) if actor.pk != target.user_id else target
    if not acting.is_admin:
        raise MembershipError("Only owners and admins can manage members.", code="forbidden")
    if target.role == Membership.Role.OWNER and acting.role != Membership.Role.OWNER:
        raise MembershipError("Only an owner can change or remove another owner.", code="forbidden")
    return acting


def _membership_audit(
    tenant: Tenant, action: AuditAction, *, actor: User, target: User, role: str, previous_role: str
) -> None:
    with schema_context(tenant.schema_name):
        audit_record(
            action=action,
            actor=actor,
            target=target.email,
            data={"user_id": target.pk, "role": role, "previous_role": previous_role},
            changes={"role": [previous_role, role or None]},
        )


def _membership_publish(
    event: DomainEvent[MembershipChanged],
    tenant: Tenant,
    *,
    user_id: int,
    role: str,
    previous_role: str,
    actor: User,
) -> None:
    event.publish(
        MembershipChanged(
            tenant_id=tenant.pk, user_id=user_id, role=role, previous_role=previous_role, actor_id=actor.pk
        ),
        tenant_schema=tenant.schema_name,
    )


def user_sessions_end(*, user_id: int) -> None:
    """End every session of the user on every host (they sign in again) once the change commits.

    A new role, or a change of staff, superuser, group or permission flags in the admin, is a
    new privilege level: a session that existed before it (perhaps one an attacker planted or
    copied) must not carry the new rights, so it ends (OWASP: renew the session on any
    privilege change). allauth's usersessions lists each login's session.
    """

    def end() -> None:
        for session in UserSession.objects.filter(user_id=user_id):
            session.end()

    transaction.on_commit(end)


@transaction.atomic
def membership_role_change(*, actor: User, membership: Membership, role: str) -> Membership:
    """Give a member another role (owners and admins; never above the actor's own role)."""
    tenant = _lock_tenant(membership.tenant)
    target = _locked_membership(user=membership.user, tenant=tenant)
    acting = _manager(actor=actor, tenant=tenant, target=target)
    if role not in ROLE_RANK:
        raise MembershipError("Choose a valid role.", code="role")
    if ROLE_RANK[Membership.Role(role)] < ROLE_RANK[Membership.Role(acting.role)]:
        raise MembershipError("You cannot give a role above your own.", code="role")
    previous_role = target.role
    if role == previous_role:
        return target
    if previous_role == Membership.Role.OWNER and _owner_count(tenant) == 1:
        raise MembershipError(
            "This is the organization's only owner. Make someone else an owner first.", code="last_owner"
        )
    target.role = role
    target.save(update_fields=["role"])
    user_sessions_end(user_id=target.user_id)
    _membership_audit(
        tenant,
        AuditAction.MEMBER_ROLE_CHANGED,
        actor=actor,
        target=target.user,
        role=role,
        previous_role=previous_role,
    )
    _membership_publish(
        member_role_changed,
        tenant,
        user_id=target.user_id,
        role=role,
        previous_role=previous_role,
        actor=actor,
    )
    return target


@transaction.atomic
def membership_remove(*, actor: User, membership: Membership) -> None:
    """Remove someone else from the organization (owners and admins; admins never remove owners)."""
    tenant = _lock_tenant(membership.tenant)
    target = _locked_membership(user=membership.user, tenant=tenant)
    if target.user_id == actor.pk:
        raise MembershipError("To leave the organization yourself, use Leave.", code="self")
    _manager(actor=actor, tenant=tenant, target=target)
    previous_role = target.role
    target.delete()
    _membership_audit(
        tenant,
        AuditAction.MEMBER_REMOVED,
        actor=actor,
        target=target.user,
        role="",
        previous_role=previous_role,
    )
    _membership_publish(
        member_removed, tenant, user_id=target.user_id, role="", previous_role=previous_role, actor=actor
    )


@transaction.atomic
def membership_leave(*, membership: Membership) -> None:
    """Leave an organization; its only owner cannot (they transfer ownership first)."""
    tenant = _lock_tenant(membership.tenant)
    target = _locked_membership(user=membership.user, tenant=tenant)
    if target.role == Membership.Role.OWNER and _owner_count(tenant) == 1:
        raise MembershipError(
            "You are the organization's only owner. Transfer ownership before you leave.", code="last_owner"
        )
    previous_role = target.role
    target.delete()
    _membership_audit(
        tenant,
        AuditAction.MEMBER_LEFT,
        actor=target.user,
        target=target.user,
        role="",
        previous_role=previous_role,
    )
    _membership_publish(
        member_left, tenant, user_id=target.user_id, role="", previous_role=previous_role, actor=target.user
    )


@transaction.atomic
def tenant_ownership_transfer(*, actor: User, membership: Membership) -> Membership:
    """An owner makes another member the owner and becomes an admin; returns the new owner's membership."""
    tenant = _lock_tenant(membership.tenant)
    acting = _locked_membership(user=actor, tenant=tenant)
    if acting.role != Membership.Role.OWNER:
        raise MembershipError("Only an owner can transfer ownership.", code="forbidden")
    target = _locked_membership(user=membership.user, tenant=tenant)
    if target.pk == acting.pk:
        raise MembershipError("You are the owner already; choose another member.", code="self")
    previous_role = target.role
    target.role = Membership.Role.OWNER
    target.save(update_fields=["role"])
    # The new owner's sessions end; the acting owner, who steps down to admin in the request
    # they are making, keeps theirs (a lower privilege needs no new session).
    user_sessions_end(user_id=target.user_id)
    acting.role = Membership.Role.ADMIN
    acting.save(update_fields=["role"])
    with schema_context(tenant.schema_name):
        audit_record(
            action=AuditAction.OWNERSHIP_TRANSFERRED,
            actor=actor,
            target=target.user.email,
            data={"user_id": target.user_id, "role": Membership.Role.OWNER, "previous_role": previous_role},
            changes={"role": [previous_role, Membership.Role.OWNER]},
        )
    for user_id, role, before in (
        (target.user_id, Membership.Role.OWNER, previous_role),
        (acting.user_id, Membership.Role.ADMIN, Membership.Role.OWNER),
    ):
        _membership_publish(
            member_role_changed, tenant, user_id=user_id, role=role, previous_role=before, actor=actor
        )
    return target


@transaction.atomic
def tenant_rename(*, actor: User, tenant: Tenant, name: str) -> Tenant:
    """Rename an organization (owners and admins); the subdomain stays."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    acting = Membership.objects.filter(user=actor, tenant=tenant).first()
    if acting is None or not acting.is_admin:
        raise MembershipError("Only owners and admins can rename the organization.", code="forbidden")
    name = display_text_clean(name)
    previous_name = tenant.name
    tenant.name = name
    try:
        tenant.full_clean(validate_unique=False)
    except ValidationError as error:
        raise MembershipError(
            " ".join(error.message_dict.get("name", error.messages)), code="name"
        ) from error
    if name == previous_name:
        return tenant
    tenant.save(update_fields=["name", "updated_at"])
    with schema_context(tenant.schema_name):
        audit_record(
            action=AuditAction.TENANT_RENAMED,
            actor=actor,
            target=tenant.slug,
            data={"name": name, "previous_name": previous_name},
            changes={"name": [previous_name, name]},
        )
    tenant_renamed.publish(
        TenantRenamed(tenant_id=tenant.pk, name=name, previous_name=previous_name, actor_id=actor.pk),
        tenant_schema=tenant.schema_name,
    )
    return tenant


@transaction.atomic
def tenant_two_factor_require(*, actor: User, tenant: Tenant, required: bool) -> Tenant:
    """Switch the organization's "require two-factor" setting (owners only).

    Turning it on asks the owner to have two-factor first: they would otherwise be the first
    person it sends away. Other processes see the change within the host cache's recheck
    (TENANT_RESOLUTION_RECHECK_SECONDS).
    """
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    acting = Membership.objects.filter(user=actor, tenant=tenant).first()
    if acting is None or acting.role != Membership.Role.OWNER:
        raise MembershipError("Only owners can change the two-factor requirement.", code="forbidden")
    if required and not is_mfa_enabled(actor):
        raise MembershipError(
            "Set up two-factor authentication for your own account first (Security, in your account).",
            code="two_factor_missing",
        )
    if tenant.require_two_factor == required:
        return tenant
    tenant.require_two_factor = required
    tenant.save(update_fields=["require_two_factor", "updated_at"])
    with schema_context(tenant.schema_name):
        audit_record(
            action=AuditAction.TWO_FACTOR_REQUIREMENT_CHANGED,
            actor=actor,
            target=tenant.slug,
            data={"require_two_factor": required, "previous": not required},
            changes={"require_two_factor": [not required, required]},
        )
    return tenant


@transaction.atomic
def user_profile_update(*, user: User, full_name: str) -> User:
    """Set the display name shown instead of the email address."""
    user.full_name = display_text_clean(full_name)
    user.full_clean(exclude=["password"], validate_unique=False)
    user.save(update_fields=["full_name"])
    return user


# --- Login hand-off between hosts --------------------------------------------------------------


class HandoffInvalid(Exception):
    """The hand-off link is unknown, used, expired or meant for another organization."""


@transaction.atomic
def login_handoff_create(*, user: User, tenant: Tenant, messages: list[list[object]] | None = None) -> str:
    """Mint a single-use link token that logs `user` in on `tenant`'s host; returns the token."""
    if not Membership.objects.filter(user=user, tenant=tenant).exists():
        raise PermissionDenied("Not a member of this organization.")
    now = timezone.now()
    # Spent and expired links are useless; clearing old ones here keeps the table small.
    LoginHandoff.objects.filter(expires_at__lt=now - timedelta(hours=1)).delete()
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=settings.LOGIN_HANDOFF_SECONDS)
    handoff = LoginHandoff(
        token_hash=token_hash(token), user=user, tenant=tenant, expires_at=expires_at, messages=messages or []
    )
    handoff.full_clean()
    handoff.save()
    return token


@transaction.atomic
def login_handoff_redeem(*, token: str, tenant: Tenant) -> tuple[User, list[list[object]]]:
    """Use a hand-off token on the tenant's host, once; returns whom it logs in and their messages."""
    now = timezone.now()
    handoff = (
        LoginHandoff.objects.select_for_update()
        .select_related("user")
        # A concurrent second use waits on the row lock, then no longer matches used_at=NULL.
        .filter(token_hash=token_hash(token), tenant=tenant, used_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if handoff is None:
        raise HandoffInvalid
    handoff.used_at = now
    handoff.save(update_fields=["used_at"])
    user = handoff.user
    if not user.is_active or not Membership.objects.filter(user=user, tenant=tenant).exists():
        raise HandoffInvalid
    return user, list(handoff.messages)
