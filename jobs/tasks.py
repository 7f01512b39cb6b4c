"""Job tasks: ids in, a service call, safe to run twice (jobs/services.py says how)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from jobs.services import JOB_RUN_TASK, job_execute, job_fail_stale
from saas.tasking import SchemaScope, tenant_fan_out


@shared_task(
    bind=True,
    name=JOB_RUN_TASK,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.JOB_SOFT_TIME_LIMIT_SECONDS,
    time_limit=settings.JOB_TIME_LIMIT_SECONDS,
)
def job_run(self: Any, *, job_id: int) -> str | None:
    """Build one report in the tenant's schema (queue `reports`)."""
    job = job_execute(job_id=job_id)
    return job.status if job is not None else None


@shared_task(name="jobs.stale_sweep_tenant", ignore_result=True)
def stale_sweep_tenant() -> int:
    """One tenant's stale running jobs marked failed."""
    return job_fail_stale()


@shared_task(name="jobs.stale_sweep", ignore_result=True, schema_scope=SchemaScope.PUBLIC)
def stale_sweep() -> int:
    """Beat: look for stale jobs in every tenant, one task per tenant."""
    return tenant_fan_out(stale_sweep_tenant)
