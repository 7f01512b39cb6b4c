"""Reports and tenant-bound tasks on the real worker (the Procfile's, all four queues).

- a report requested in a tenant is built by the worker in that tenant, file stored;
- a message without a schema, or naming a deleted tenant, is refused with a log line and
  changes nothing;
- the beat fan-out reaches every tenant once, each in its own schema (#170/#171);
- a worker SIGKILLed mid-report: the message comes back after the (short here) visibility
  timeout, the report completes once, on its second attempt.

The retry trap (#14: `retry()` keeping the schema) is tests/jobs/test_tasking.py: a task on the
base class retried by a real worker runs again in its tenant's schema, even when it retried from
inside `schema_context("public")`.
"""

from __future__ import annotations

import contextlib
import csv
import time
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from celery import current_app
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from activity.models import AuditEvent
from devtools.processes import NotReady, wait_until
from jobs.models import Job
from jobs.services import job_request
from saas.tasking import SCHEMA_HEADER
from tests.e2e.support.processes import CeleryWorker, running
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e

VISIBILITY_TIMEOUT = 12


@pytest.fixture
def e2e_env_overrides():
    return {
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "CELERY_UNACKED_RESTORE_THROTTLE": "1",
        "CELERY_TASK_SOFT_TIME_LIMIT": "5",
        "CELERY_TASK_TIME_LIMIT": "6",
        "JOB_SOFT_TIME_LIMIT_SECONDS": "10",
        "JOB_TIME_LIMIT_SECONDS": "11",
    }


def add_activity(schema: str, rows: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{schema}".activity_auditevent (action, actor_email, target, data, created_at) '
            "SELECT 'project.created', 'bulk@example.com', 'project ' || n, '{}'::jsonb, now() "
            "FROM generate_series(1, %s) AS n",
            [rows],
        )


def job_state(schema: str, job_id: int) -> Job:
    with schema_context(schema):
        return Job.objects.get(pk=job_id)


def request_activity_report(tenant, user) -> Job:
    today = date.today()
    with schema_context(tenant.schema_name):
        return job_request(
            kind=Job.Kind.ACTIVITY_CSV,
            params={"date_from": (today - timedelta(days=1)).isoformat(), "date_to": today.isoformat()},
            user_id=user.pk,
        )


def test_a_report_is_built_by_the_worker_in_its_tenant(celery_worker, make_tenant, member_of):
    first, second = make_tenant(), make_tenant()
    owner = member_of(first, UserFactory(), role="owner")
    add_activity(first.schema_name, 500)
    add_activity(second.schema_name, 7)
    job = request_activity_report(first, owner)
    wait_until(lambda: job_state(first.schema_name, job.pk).finished, timeout=30, message="the report")
    job = job_state(first.schema_name, job.pk)
    with schema_context(first.schema_name):
        expected = AuditEvent.objects.count()  # the 500 and what setting the tenant up wrote
    assert expected >= 500
    assert (job.status, job.rows, job.attempts) == (Job.Status.DONE, expected, 1), job.error
    with schema_context(first.schema_name), job.file.open("rb") as handle:
        lines = list(csv.reader(handle.read().decode().splitlines()))
    assert len(lines) == expected + 1
    assert sum(1 for line in lines if line[-1].startswith("project ")) == 500


def test_messages_without_a_live_schema_are_refused_and_logged(celery_worker, make_tenant, member_of):
    tenant = make_tenant()
    owner = member_of(tenant, UserFactory(), role="owner")
    with schema_context(tenant.schema_name):
        job = Job.objects.create(kind=Job.Kind.MEMBERS_CSV, requested_by_id=owner.pk)
    for schema in ("", "t_gone_for_good"):
        current_app.send_task("jobs.job_run", kwargs={"job_id": job.pk}, headers={SCHEMA_HEADER: schema})
    wait_until(lambda: celery_worker.log().count("task refused") >= 2, timeout=20, message="two refusals")
    log = celery_worker.log()
    assert "the message carries no tenant schema header" in log
    assert "its tenant schema no longer exists" in log
    assert job_state(tenant.schema_name, job.pk).status == Job.Status.QUEUED  # untouched


def test_the_beat_sweep_fans_out_to_every_tenant_in_its_own_schema(celery_worker, make_tenant, member_of):
    tenants = [make_tenant() for _ in range(3)]
    stale = timezone.now() - timedelta(hours=1)
    jobs = {}
    for tenant in tenants:
        owner = member_of(tenant, UserFactory(), role="owner")
        with schema_context(tenant.schema_name):
            jobs[tenant.schema_name] = Job.objects.create(
                kind=Job.Kind.MEMBERS_CSV,
                requested_by_id=owner.pk,
                status=Job.Status.RUNNING,
                started_at=stale,
            ).pk
    current_app.send_task("jobs.stale_sweep")  # as beat sends it, from public
    wait_until(
        lambda: all(job_state(s, pk).status == Job.Status.FAILED for s, pk in jobs.items()),
        timeout=30,
        message="every tenant's stale job failed",
    )


@contextlib.contextmanager
def held_once_underway(schema: str, job_id: int, *, timeout: float = 30) -> Iterator[Job]:
    """The job's row locked from the moment its report has written a chunk until the block ends.

    While it is held the worker can neither record more progress nor finish (both take the
    row), so what the block does lands mid-report however fast the machine builds it. Polling
    and then acting instead let a starved test process see the report done before its kill.
    """
    deadline = time.monotonic() + timeout
    while True:
        with transaction.atomic(), schema_context(schema):
            job = Job.objects.select_for_update().get(pk=job_id)
            if job.progress > 0:
                yield job
                return
        if time.monotonic() > deadline:
            raise NotReady(f"the report of job {job_id} did not start within {timeout:.0f}s")
        time.sleep(0.05)


def test_a_worker_killed_mid_report_is_redelivered_and_completes_once(celery_worker, make_tenant, member_of):
    tenant = make_tenant()
    owner = member_of(tenant, UserFactory(), role="owner")
    add_activity(tenant.schema_name, 20_000)  # ten chunks
    job = request_activity_report(tenant, owner)
    with held_once_underway(tenant.schema_name, job.pk) as underway:
        celery_worker.kill()
    assert (underway.status, underway.attempts) == (Job.Status.RUNNING, 1)
    celery_worker.start()
    wait_until(
        lambda: job_state(tenant.schema_name, job.pk).finished,
        timeout=VISIBILITY_TIMEOUT + 40,
        message="done",
    )
    job = job_state(tenant.schema_name, job.pk)
    # The organization's own rows too: provisioned, member added, report requested.
    assert (job.status, job.attempts, job.rows) == (Job.Status.DONE, 2, 20_000 + 3), job.error


def test_an_organization_deleted_while_its_report_runs_fails_it_cleanly(
    celery_worker, make_tenant, member_of
):
    tenant = make_tenant()
    owner = member_of(tenant, UserFactory(), role="owner")
    add_activity(tenant.schema_name, 100_000)  # fifty chunks: the deletion is seen at the next one
    job = request_activity_report(tenant, owner)
    schema = tenant.schema_name
    with held_once_underway(schema, job.pk):
        tenant.delete()  # the row goes; the schema stays until someone drops it (auto_drop_schema off)
    wait_until(lambda: job_state(schema, job.pk).finished, timeout=30, message="the job to stop")
    job = job_state(schema, job.pk)
    assert (job.status, job.file.name) == (Job.Status.FAILED, "")
    assert "deleted" in job.error
    assert "its organization is gone" in celery_worker.log()


def test_a_second_delivery_of_a_running_report_does_not_run_it_twice(
    e2e_env, request, make_tenant, member_of
):
    """What the visibility timeout would do to a long job (celery #5935), forced: a copy of the
    message arrives while the first still runs, on a second process. The advisory lock keeps
    it to one run."""
    tenant = make_tenant()
    owner = member_of(tenant, UserFactory(), role="owner")
    add_activity(tenant.schema_name, 20_000)  # ten chunks
    worker = CeleryWorker(dict(e2e_env), queue=e2e_env["CELERY_QUEUE"], concurrency=2)
    with running(worker, request):
        job = request_activity_report(tenant, owner)
        schema = tenant.schema_name
        with held_once_underway(schema, job.pk):  # the first run cannot finish before the copy comes
            current_app.send_task("jobs.job_run", kwargs={"job_id": job.pk}, headers={SCHEMA_HEADER: schema})
            wait_until(lambda: "already running elsewhere" in worker.log(), timeout=20, message="the copy")
        wait_until(lambda: job_state(schema, job.pk).finished, timeout=40, message="the report")
    job = job_state(schema, job.pk)
    assert (job.status, job.attempts) == (Job.Status.DONE, 1)
