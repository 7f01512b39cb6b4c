"""Writes for users and memberships. Each service owns its transaction."""

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

import structlog
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import ProgrammingError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import LoginHandoff, Membership, User, email_normalize
from activity.models import AuditAction
from activity.services import audit_record
from saas.crypto import token_hash
from saas.signals import UserSignedUp, user_signed_up
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


def membership_create(*, user: User, tenant: Tenant, role: str) -> Membership:
    """Add a user to a tenant with a role, with its audit row (inside the caller's transaction)."""
    membership = Membership(user=user, tenant=tenant, role=role)
    membership.full_clean()
    membership.save()
    with schema_context(tenant.schema_name):
        audit_record(action=AuditAction.MEMBER_ADDED, actor=user, target=user.email, data={"role": role})
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


@transaction.atomic
def user_sign_up(
    *, email: str, password: str, organization_name: str, subdomain: str | None = None
) -> SignUp:
    """Create an account, its organization (tenant, schema, domain) and owner membership."""
    email = email_normalize(email)
    organization_name = display_text_clean(organization_name)
    subdomain = (subdomain or "").strip().lower() or None
    # Two submissions of the same form must not both get past the "email free" check: the
    # second waits here until the first commits, then sees the account.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"sign-up:{email}"])

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
    user = User(email=email)
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
    if subdomain is not None:
        tenant = _provision(organization_name=organization_name, slug=subdomain, owner=user)
    else:
        tenant = _provision_derived(organization_name=organization_name, owner=user)
    membership = membership_create(user=user, tenant=tenant, role=Membership.Role.OWNER)
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


# --- Login hand-off between hosts --------------------------------------------------------------


class HandoffInvalid(Exception):
    """The hand-off link is unknown, used, expired or meant for another organization."""


@transaction.atomic
def login_handoff_create(*, user: User, tenant: Tenant) -> str:
    """Mint a single-use link token that logs `user` in on `tenant`'s host; returns the token."""
    if not Membership.objects.filter(user=user, tenant=tenant).exists():
        raise PermissionDenied("Not a member of this organization.")
    now = timezone.now()
    # Spent and expired links are useless; clearing old ones here keeps the table small.
    LoginHandoff.objects.filter(expires_at__lt=now - timedelta(hours=1)).delete()
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=settings.LOGIN_HANDOFF_SECONDS)
    handoff = LoginHandoff(token_hash=token_hash(token), user=user, tenant=tenant, expires_at=expires_at)
    handoff.full_clean()
    handoff.save()
    return token


@transaction.atomic
def login_handoff_redeem(*, token: str, tenant: Tenant) -> User:
    """Use a hand-off token on the tenant's host, once; returns whom it logs in."""
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
    return user
