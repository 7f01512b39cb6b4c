"""Writes for background jobs (reports); they run in the tenant's schema.

A job runs at most once at a time: `job_execute` holds a PostgreSQL advisory lock keyed by
schema and job for the whole run, on its own session. A copy delivered while the first still
runs (a broker redelivery) finds the lock taken and leaves; a worker killed mid-job loses its
connection, the lock with it, and the redelivered copy (`acks_late` +
`reject_on_worker_lost`) starts over. Each start counts an attempt; past `JOB_MAX_ATTEMPTS`
the job fails instead of looping on a report that kills its worker. A job whose every copy
was lost stays "running" only until the stale sweep (`job_fail_stale`, beat) fails it, once
it has run longer than the hard time limit allows; a job whose message never reached the
broker (down when the job was made) is sent again by the same sweep.

Progress and the end are told to the requester's sockets (`job.progress`, `job.done`,
realtime/messages.py) after each small commit, so they arrive in order; the end also makes a
notification.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import structlog
from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.models import User
from activity.models import AuditAction
from activity.services import audit_record
from jobs.models import Job
from jobs.reports import SPECS, report_total, report_write
from notifications.services import notification_create_for_user
from realtime.messages import JOB_DONE, JOB_PROGRESS
from saas.broadcast import broadcast_on_commit, user_stream
from saas.schemas import current_schema
from saas.tasking import SCHEMA_HEADER
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

# Seconds past the hard time limit before the sweep calls a running job lost.
STALE_GRACE_SECONDS = 60


class JobRefused(Exception):
    """The job cannot be (re)started in its state."""


class TenantGone(JobRefused):
    """The organization was deleted while its job ran."""


JOB_RUN_TASK = "jobs.job_run"


def _send(job_id: int, schema: str) -> None:
    try:
        # By name: jobs.tasks calls into this module. The schema header is set explicitly (fresh).
        current_app.send_task(JOB_RUN_TASK, kwargs={"job_id": job_id}, headers={SCHEMA_HEADER: schema})
    except (OperationalError, OSError) as exc:
        # The request that made the job still succeeds: the sweep sends it again later.
        logger.warning("job not sent: broker unavailable", job_id=job_id, schema=schema, error=str(exc))


def _enqueue(job: Job) -> None:
    schema = current_schema()
    transaction.on_commit(lambda: _send(job.pk, schema))


@transaction.atomic
def job_request(*, kind: str, params: dict[str, Any], user_id: int) -> Job:
    """Record a report request and queue it once the transaction commits."""
    if current_schema() == "public":
        raise RuntimeError("jobs live in a tenant schema")
    job = Job(kind=kind, params=params, requested_by_id=user_id)
    job.full_clean()
    job.save()
    audit_record(
        action=AuditAction.REPORT_REQUESTED,
        actor=User.objects.filter(pk=user_id).first(),
        target=job.get_kind_display(),
        data={"job_id": job.pk, **params},
        changes={"status": [None, job.status]},
    )
    _enqueue(job)
    return job


@transaction.atomic
def job_rerun(*, job_id: int) -> Job:
    """Queue a failed job again from the start (staff: `manage.py job_rerun`)."""
    job = Job.objects.select_for_update().get(pk=job_id)
    if job.status != Job.Status.FAILED:
        raise JobRefused(f"job {job_id} is {job.status}; only failed jobs are run again")
    job.status = Job.Status.QUEUED
    job.progress = 0
    job.rows = 0
    job.error = ""
    job.attempts = 0
    job.started_at = None
    job.finished_at = None
    job.save(
        update_fields=[
            "status",
            "progress",
            "rows",
            "error",
            "attempts",
            "started_at",
            "finished_at",
            "updated_at",
        ]
    )
    _enqueue(job)
    return job


@contextmanager
def _run_lock(job_id: int) -> Iterator[bool]:
    key = f"jobs:{current_schema()}:{job_id}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
        taken = bool(cursor.fetchone()[0])
    try:
        yield taken
    finally:
        if taken:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])


def _claim(job_id: int) -> Job | None:
    """Mark the job running and count the attempt; None if it is finished or gone."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.finished:
            return None
        job.status = Job.Status.RUNNING
        job.attempts += 1
        job.progress = 0
        job.started_at = timezone.now()
        job.save(update_fields=["status", "attempts", "progress", "started_at", "updated_at"])
        return job


def _progress(job: Job, *, rows: int, total: int) -> None:
    percent = min(99, rows * 100 // total) if total else 0
    if percent <= job.progress and rows:
        return
    # At most a hundred times a job: an organization deleted meanwhile stops it here.
    if not Tenant.objects.filter(schema_name=current_schema()).exists():
        raise TenantGone(f"the organization of job {job.pk} was deleted")
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            progress=percent, rows=rows, updated_at=timezone.now()
        )
        if not updated:
            raise JobRefused(f"job {job.pk} is no longer running")
        job.progress = percent
        broadcast_on_commit(
            user_stream(current_schema(), job.requested_by_id),
            {
                "type": JOB_PROGRESS,
                "job_id": job.pk,
                "kind": job.kind,
                "percent": percent,
                "label": f"{rows} of {total} rows",
            },
        )


def job_execute(*, job_id: int) -> Job | None:
    """Run one job (the worker's task body); returns it finished, or None if another copy runs."""
    with _run_lock(job_id) as taken:
        if not taken:
            logger.warning("job already running elsewhere", job_id=job_id, schema=current_schema())
            return None
        job = _claim(job_id)
        if job is None:
            return None
        if job.attempts > settings.JOB_MAX_ATTEMPTS:
            return job_finish_failed(job=job, error=f"Gave up after {settings.JOB_MAX_ATTEMPTS} attempts.")
        try:
            return _build(job)
        except SoftTimeLimitExceeded:
            return job_finish_failed(job=job, error="The report took longer than its time limit.")
        except DatabaseError as exc:
            # The organization deleted under the job (its schema or rows gone): nothing to tell.
            if not Tenant.objects.filter(schema_name=current_schema()).exists():
                logger.warning("job's organization is gone", job_id=job_id, error=str(exc))
                return None
            return job_finish_failed(job=job, error="The report could not be built.", exc=exc)
        except TenantGone as exc:
            logger.warning("job stopped: its organization is gone", job_id=job_id, reason=str(exc))
            with contextlib.suppress(DatabaseError):  # the schema may be gone too
                Job.objects.filter(pk=job.pk).update(
                    status=Job.Status.FAILED,
                    error="The organization was deleted while the report ran.",
                    finished_at=timezone.now(),
                )
            return None
        except JobRefused as exc:
            logger.warning("job stopped", job_id=job_id, reason=str(exc))
            return None
        except Exception as exc:
            return job_finish_failed(job=job, error="The report could not be built.", exc=exc)


def _build(job: Job) -> Job:
    tenant = Tenant.objects.get(schema_name=current_schema())
    spec = SPECS[Job.Kind(job.kind)]
    total = report_total(job=job, tenant_id=tenant.pk)
    _progress(job, rows=0, total=total)
    rows = 0
    # On disk, not in memory: the file is handed to storage (local or GCS) as a stream.
    with tempfile.TemporaryFile() as out:
        for rows in report_write(job=job, tenant_id=tenant.pk, tenant_name=tenant.name, out=out):
            _progress(job, rows=rows, total=total)
        out.seek(0)
        name = f"jobs/{current_schema()}/{job.pk}/{uuid.uuid4().hex}/{job.kind}.{spec.extension}"
        stored = default_storage.save(name, File(out, name=name))
    with transaction.atomic():
        locked = Job.objects.select_for_update().filter(pk=job.pk, status=Job.Status.RUNNING).first()
        if locked is None:
            default_storage.delete(stored)
            raise JobRefused(f"job {job.pk} stopped running before it finished")
        locked.status = Job.Status.DONE
        locked.progress = 100
        locked.rows = rows
        locked.file.name = stored
        locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "progress", "rows", "file", "finished_at", "updated_at"])
        _tell_finished(locked)
    return locked


def job_finish_failed(*, job: Job, error: str, exc: BaseException | None = None) -> Job:
    """Mark a running job failed and tell its requester."""
    if exc is not None:
        logger.error("job failed", job_id=job.pk, kind=job.kind, error=repr(exc))
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).update(
            status=Job.Status.FAILED,
            error=error[:2000],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        job.refresh_from_db()
        if updated:
            _tell_finished(job)
    return job


def _tell_finished(job: Job) -> None:
    ok = job.status == Job.Status.DONE
    # The page's stable link: it checks the member, then hands out a short-lived signed one.
    url = f"/reports/{job.pk}/download/" if ok else ""
    broadcast_on_commit(
        user_stream(current_schema(), job.requested_by_id),
        {"type": JOB_DONE, "job_id": job.pk, "kind": job.kind, "ok": ok, "url": url},
    )
    notification_create_for_user(
        user_id=job.requested_by_id,
        event_id=f"job:{job.pk}:{job.attempts}:{job.status}",
        kind=JOB_DONE,
        title=f"{job.get_kind_display()} is ready" if ok else f"{job.get_kind_display()} failed",
        url=url or "/reports/",
    )


def job_fail_stale() -> int:
    """Beat (per tenant): fail running jobs whose worker is gone, send again jobs whose message
    was lost (broker down when they were made); returns how many were failed."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_TIME_LIMIT_SECONDS + STALE_GRACE_SECONDS)
    failed = 0
    for job in Job.objects.filter(status=Job.Status.RUNNING, started_at__lt=cutoff):
        with _run_lock(job.pk) as free:
            if not free:  # a worker still holds it: it is running, not lost
                continue
            job_finish_failed(job=job, error="The worker running this report stopped; start it again.")
            failed += 1
    # A copy sent for a job still waiting in the queue is harmless: the second to arrive finds
    # it finished (or locked) and leaves.
    waiting = now - timedelta(seconds=settings.JOB_QUEUED_RESEND_SECONDS)
    for job_id in Job.objects.filter(status=Job.Status.QUEUED, created_at__lt=waiting).values_list(
        "pk", flat=True
    ):
        _send(job_id, current_schema())
    return failed
