"""Lifecycle tasks: ids in, a service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from lifecycle.services import tenant_delete, tenant_deletions_due


@shared_task(name="lifecycle.tenant_deletions_run", ignore_result=True)
def tenant_deletions_run() -> int:
    """Beat: start one deletion job per organization whose grace period is over."""
    due = tenant_deletions_due()
    for deletion_id in due:
        tenant_delete_task.delay(deletion_id=deletion_id)
    return len(due)


# No retries of its own: a failed or killed job leaves its row `deleting` (or `scheduled`), and
# the next beat sweep starts it again; acks_late makes a worker lost mid-job redeliver it.
@shared_task(name="lifecycle.tenant_delete", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def tenant_delete_task(*, deletion_id: int) -> None:
    tenant_delete(deletion_id=deletion_id)
