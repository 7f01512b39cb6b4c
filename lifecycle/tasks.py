"""Lifecycle tasks: ids in, a service call, safe to run twice."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from accounts.models import User
from lifecycle.services import (
    EXPORT_TASK,
    tenant_delete,
    tenant_deletions_due,
    tenant_export_fail,
    tenant_export_run,
)
from saas.email import email_send
from saas.tasking import SchemaScope
from tenants.selectors import tenant_absolute_url


@shared_task(name="lifecycle.tenant_deletions_run", ignore_result=True, schema_scope=SchemaScope.PUBLIC)
def tenant_deletions_run() -> int:
    """Beat: start one deletion job per organization whose grace period is over."""
    due = tenant_deletions_due()
    for deletion_id in due:
        tenant_delete_task.delay(deletion_id=deletion_id)
    return len(due)


# No retries of its own: a failed or killed job leaves its row `deleting` (or `scheduled`), and
# the next beat sweep starts it again; acks_late makes a worker lost mid-job redeliver it.
@shared_task(
    name="lifecycle.tenant_delete",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    schema_scope=SchemaScope.PUBLIC,  # it drops the schema: it runs beside it, never in it
)
def tenant_delete_task(*, deletion_id: int) -> None:
    tenant_delete(deletion_id=deletion_id)


# On the reports queue with the reports' time limits: a large organization's zip takes a while.
@shared_task(
    name=EXPORT_TASK,
    bind=True,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.JOB_SOFT_TIME_LIMIT_SECONDS,
    time_limit=settings.JOB_TIME_LIMIT_SECONDS,
)
def tenant_export(self: Any, *, export_id: int) -> None:
    """Build the export's zip, then email the owner who asked where to download it."""
    try:
        export = tenant_export_run(export_id=export_id)
    except Exception as error:
        tenant_export_fail(export_id=export_id, error=error)
        raise
    if export is None or export.requested_by_id is None:
        return
    owner = User.objects.filter(pk=export.requested_by_id).first()
    if owner is None:
        return
    email_send(
        to=owner.email,
        template="lifecycle/email/export_ready",
        context={
            "organization": export.tenant.name,
            "url": tenant_absolute_url(tenant=export.tenant, path="/settings/export/"),
            "size": export.size,
        },
        idempotency_key=f"export-{export.pk}-ready",
    )
