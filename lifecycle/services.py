"""Writes of the data lifecycle: deleting an organization (with a grace period), deleting an account.

Every change to whether an organization is going away serializes on the tenant's row
(FOR NO KEY UPDATE, as member changes do), so two owners clicking Delete, or Delete and
Cancel, at the same moment end in one clear state: the second click is refused with a message.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta

import structlog
from celery import current_app
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Membership, User
from activity.models import AuditAction, AuditEvent
from activity.services import audit_actor_erase, audit_record
from billing.services import subscription_cancel
from invitations.models import Invitation
from lifecycle.errors import LifecycleError
from lifecycle.export import export_write
from lifecycle.models import OrganizationDeletion, OrganizationExport
from notifications.models import Notification
from projects.models import Project
from tenants.models import Domain, Tenant
from tenants.schema_template import quote

logger = structlog.get_logger(__name__)

OPEN = (OrganizationDeletion.State.SCHEDULED, OrganizationDeletion.State.DELETING)


def _lock_tenant(tenant: Tenant) -> Tenant:
    return Tenant.objects.select_for_update(no_key=True).get(pk=tenant.pk)


def _require_owner(*, actor: User, tenant: Tenant) -> None:
    if not Membership.objects.filter(user=actor, tenant=tenant, role=Membership.Role.OWNER).exists():
        raise LifecycleError(
            "Only an owner can delete the organization or cancel its deletion.", code="forbidden"
        )


def _open_deletion(tenant: Tenant) -> OrganizationDeletion | None:
    return OrganizationDeletion.objects.select_for_update().filter(tenant=tenant, state__in=OPEN).first()


@transaction.atomic
def tenant_deletion_schedule(*, tenant: Tenant, actor: User, confirm: str) -> OrganizationDeletion:
    """An owner asks to delete the organization; it happens after TENANT_DELETION_GRACE_DAYS."""
    tenant = _lock_tenant(tenant)
    _require_owner(actor=actor, tenant=tenant)
    if (confirm or "").strip().lower() != tenant.slug:
        raise LifecycleError(
            f"Type the organization's subdomain, {tenant.slug}, to confirm.", code="confirm", field="confirm"
        )
    if _open_deletion(tenant) is not None:
        raise LifecycleError("Deleting this organization is already scheduled.", code="already_scheduled")
    deletion = OrganizationDeletion(
        tenant=tenant,
        slug=tenant.slug,
        name=tenant.name,
        schema_name=tenant.schema_name,
        requested_by=actor,
        requested_by_email=actor.email,
        due_at=timezone.now() + timedelta(days=settings.TENANT_DELETION_GRACE_DAYS),
    )
    deletion.full_clean()
    deletion.save()
    with schema_context(tenant.schema_name):
        audit_record(
            action=AuditAction.TENANT_DELETION_SCHEDULED,
            actor=actor,
            target=tenant.slug,
            data={"deletion_id": deletion.pk},
            changes={"deletion_due_at": [None, deletion.due_at.isoformat()]},
        )
    return deletion


@transaction.atomic
def tenant_deletion_cancel(*, tenant: Tenant, actor: User) -> OrganizationDeletion:
    """An owner keeps the organization during the grace period."""
    tenant = _lock_tenant(tenant)
    _require_owner(actor=actor, tenant=tenant)
    deletion = _open_deletion(tenant)
    if deletion is None:
        raise LifecycleError("No deletion is scheduled for this organization.", code="not_scheduled")
    if deletion.state == OrganizationDeletion.State.DELETING:
        raise LifecycleError("The deletion has started and can no longer be canceled.", code="too_late")
    deletion.state = OrganizationDeletion.State.CANCELED
    deletion.canceled_at = timezone.now()
    deletion.canceled_by_email = actor.email
    deletion.save(update_fields=["state", "canceled_at", "canceled_by_email"])
    with schema_context(tenant.schema_name):
        audit_record(
            action=AuditAction.TENANT_DELETION_CANCELED,
            actor=actor,
            target=tenant.slug,
            data={"deletion_id": deletion.pk},
            changes={"deletion_due_at": [deletion.due_at.isoformat(), None]},
        )
    return deletion


def tenant_deletions_due() -> list[int]:
    """Deletions whose grace period is over, and any a crashed job left half done."""
    return list(
        OrganizationDeletion.objects.filter(
            state=OrganizationDeletion.State.SCHEDULED, due_at__lte=timezone.now()
        ).values_list("id", flat=True)
    ) + list(
        OrganizationDeletion.objects.filter(state=OrganizationDeletion.State.DELETING).values_list(
            "id", flat=True
        )
    )


@transaction.atomic
def _deletion_start(*, deletion_id: int) -> OrganizationDeletion | None:
    """Past the point of no return: from here an owner can no longer cancel (Stripe is told next)."""
    found = OrganizationDeletion.objects.filter(pk=deletion_id).only("tenant_id").first()
    if found is None or found.tenant_id is None:
        return None
    _lock_tenant(Tenant(pk=found.tenant_id))  # the lock schedule and cancel take, in the same order
    deletion = (
        OrganizationDeletion.objects.select_for_update(of=("self",))
        .select_related("tenant")
        .get(pk=deletion_id)
    )
    if deletion.state == OrganizationDeletion.State.DELETING:
        return deletion  # a job that died midway: carry on
    if deletion.state != OrganizationDeletion.State.SCHEDULED or deletion.due_at > timezone.now():
        return None  # canceled meanwhile, or not due
    deletion.state = OrganizationDeletion.State.DELETING
    deletion.save(update_fields=["state"])
    return deletion


@transaction.atomic
def _deletion_finish(*, deletion_id: int, subscription_id: str) -> OrganizationDeletion | None:
    deletion = (
        OrganizationDeletion.objects.select_for_update()
        .filter(pk=deletion_id, state=OrganizationDeletion.State.DELETING)
        .first()
    )
    if deletion is None or deletion.tenant_id is None:
        return None
    tenant = _lock_tenant(Tenant(pk=deletion.tenant_id))
    with schema_context(tenant.schema_name):
        audit_rows = AuditEvent.objects.count()
    summary = {
        "members": Membership.objects.filter(tenant=tenant).count(),
        "invitations": Invitation.objects.filter(tenant=tenant).count(),
        "domains": sorted(Domain.objects.filter(tenant=tenant).values_list("domain", flat=True)),
        "api_keys": tenant.api_keys.count(),
        "audit_rows": audit_rows,
        "stripe_subscription_canceled": subscription_id,
    }
    Invitation.objects.filter(tenant=tenant).delete()
    Membership.objects.filter(tenant=tenant).delete()
    Domain.objects.filter(tenant=tenant).delete()
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        # No trigger fires on DROP SCHEMA: the tenant's audit log goes with its data, and
        # this row (public) is the record that it existed and who deleted it.
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote(tenant.schema_name)} CASCADE")
    tenant.delete()  # the rest of its public rows cascade (keys, billing account, hand-offs)
    deletion.state = OrganizationDeletion.State.DELETED
    deletion.deleted_at = timezone.now()
    deletion.summary = summary
    deletion.save(update_fields=["state", "deleted_at", "summary"])
    logger.info("organization deleted", slug=deletion.slug, deletion_id=deletion.pk, **summary)
    return deletion


def tenant_delete(*, deletion_id: int) -> OrganizationDeletion | None:
    """The job after the grace period: cancel Stripe, drop the schema, remove its public rows.

    Three steps, each safe to repeat: mark it started (one transaction), cancel the Stripe
    subscription (a call to Stripe, outside any transaction), remove everything (one
    transaction). A crash between them leaves the row `deleting`, and the beat sweep runs it
    again from the top. Returns the finished record, or None when there was nothing to do.
    """
    deletion = _deletion_start(deletion_id=deletion_id)
    if deletion is None or deletion.tenant is None:
        return None
    subscription_id = subscription_cancel(tenant=deletion.tenant)
    return _deletion_finish(deletion_id=deletion_id, subscription_id=subscription_id)


def _only_owner_of(memberships: list[Membership]) -> list[str]:
    names = []
    for membership in memberships:
        if membership.role != Membership.Role.OWNER:
            continue
        owners = Membership.objects.filter(tenant_id=membership.tenant_id, role=Membership.Role.OWNER).count()
        if owners == 1:
            names.append(membership.tenant.name)
    return names


@transaction.atomic
def user_account_delete(*, user: User) -> None:
    """A person deletes their own account: every membership ends, their name leaves the audit logs.

    Refused while they are the only owner of an organization (it would be left with nobody
    able to manage or delete it).
    """
    tenant_ids = list(
        Membership.objects.filter(user=user).order_by("tenant_id").values_list("tenant_id", flat=True)
    )
    for tenant_id in tenant_ids:  # in id order, so two deletions never wait on each other in a cycle
        _lock_tenant(Tenant(pk=tenant_id))
    memberships = list(Membership.objects.filter(user=user).select_related("tenant").order_by("tenant_id"))
    blocking = _only_owner_of(memberships)
    if blocking:
        raise LifecycleError(
            f"You are the only owner of {', '.join(sorted(blocking))}. Make someone else an owner, "
            "or delete the organization, before you delete your account.",
            code="last_owner",
        )
    for membership in memberships:
        with schema_context(membership.tenant.schema_name):
            audit_actor_erase(user_id=user.pk)
            Notification.objects.filter(user_id=user.pk).delete()
            Project.objects.filter(owner_id=user.pk).update(owner=None)
            audit_record(
                action=AuditAction.MEMBER_ACCOUNT_DELETED,
                target="",
                data={"previous_role": membership.role},
                changes={"role": [membership.role, None]},
            )
        membership.delete()
    user.delete()


# --- Export ----------------------------------------------------------------------------------

EXPORT_TASK = "lifecycle.tenant_export"


@transaction.atomic
def tenant_export_request(*, tenant: Tenant, actor: User) -> OrganizationExport:
    """An owner asks for the organization's data; a task builds the zip and emails them."""
    tenant = _lock_tenant(tenant)
    if not Membership.objects.filter(user=actor, tenant=tenant, role=Membership.Role.OWNER).exists():
        raise LifecycleError("Only an owner can export the organization's data.", code="forbidden")
    if OrganizationExport.objects.filter(tenant=tenant, state=OrganizationExport.State.PENDING).exists():
        raise LifecycleError("An export is being prepared already; you will get an email.", code="pending")
    export = OrganizationExport(tenant=tenant, requested_by=actor)
    export.full_clean()
    export.save()
    with schema_context(tenant.schema_name):
        audit_record(
            action=AuditAction.TENANT_EXPORTED,
            actor=actor,
            target=tenant.slug,
            data={"export_id": export.pk},
            changes={"export_state": [None, export.state]},
        )
    # By name: lifecycle.tasks imports this module.
    transaction.on_commit(lambda: current_app.send_task(EXPORT_TASK, kwargs={"export_id": export.pk}))
    return export


def tenant_export_run(*, export_id: int) -> OrganizationExport | None:
    """Build the zip of a pending export into default_storage (safe to run twice: done is done)."""
    export = OrganizationExport.objects.select_related("tenant").filter(pk=export_id).first()
    if export is None or export.state != OrganizationExport.State.PENDING:
        return None
    tenant = export.tenant
    # A spooled file: small exports stay in memory, large ones go to disk, never all in RAM.
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as spool:
        counts = export_write(tenant=tenant, target=spool)
        size = spool.tell()
        spool.seek(0)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        name = default_storage.save(
            f"exports/{tenant.schema_name}/{tenant.slug}-{stamp}-{export.pk}.zip", File(spool)
        )
    with transaction.atomic():
        locked = OrganizationExport.objects.select_for_update().get(pk=export_id)
        if locked.state != OrganizationExport.State.PENDING:  # a concurrent run finished first
            default_storage.delete(name)
            return None
        locked.state = OrganizationExport.State.DONE
        locked.file_name = name
        locked.size = size
        locked.finished_at = timezone.now()
        locked.save(update_fields=["state", "file_name", "size", "finished_at"])
    logger.info("organization exported", slug=tenant.slug, export_id=export_id, size=size, tables=len(counts))
    return locked


@transaction.atomic
def tenant_export_fail(*, export_id: int, error: BaseException) -> None:
    """Record why an export failed (the owner sees it and can ask again)."""
    OrganizationExport.objects.filter(pk=export_id, state=OrganizationExport.State.PENDING).update(
        state=OrganizationExport.State.FAILED, error=repr(error)[:2000], finished_at=timezone.now()
    )
