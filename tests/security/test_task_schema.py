"""A Celery task sent with a wrong or missing schema refuses to run (saas/tasking.py).

The isolation suite's view of the worker: every case is run through Celery's own execution
path in this process (`Task.apply`, or `build_tracer`, the tracer a worker runs a message
with, for a message that never had the header), against real PostgreSQL. A refusal is the
state REJECTED with `requeue=False` (dropped, never retried, so no crash loop) and one
error log line naming the task, the schema and the reason. tests/jobs/test_tasking.py holds
the tenant-schemas-celery traps (fan-out headers, groups, chords, retries on a real worker).
"""

from __future__ import annotations

import logging
import uuid

import pytest
from celery.app.trace import build_tracer
from django.db import connection
from django_tenants.utils import schema_context

from jobs import tasks
from jobs.models import Job
from saas.tasking import SCHEMA_HEADER, TaskRefused

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_job(make_tenant, user):
    """A tenant and one queued job in its schema."""
    tenant = make_tenant()
    with schema_context(tenant.schema_name):
        job = Job.objects.create(kind=Job.Kind.MEMBERS_CSV, requested_by_id=user.pk)
    return tenant, job


def _untouched(tenant, job) -> bool:
    with schema_context(tenant.schema_name):
        job.refresh_from_db()
    return (job.status, job.attempts, job.started_at) == (Job.Status.QUEUED, 0, None)


def _refusals(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if "task refused" in record.getMessage()]


def _assert_refused(result, caplog, reason: str) -> None:
    assert result.state == "REJECTED"
    refusal = result.result
    assert isinstance(refusal, TaskRefused) and refusal.requeue is False
    assert reason in str(refusal)
    (record,) = _refusals(caplog)
    assert record.levelno == logging.ERROR
    assert "jobs.job_run" in record.getMessage() and reason in record.getMessage()


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        pytest.param({SCHEMA_HEADER: None}, "no tenant schema header", id="header-none"),
        pytest.param({SCHEMA_HEADER: ""}, "no tenant schema header", id="header-empty"),
        pytest.param({SCHEMA_HEADER: "public"}, "runs only in a tenant", id="public-schema"),
        pytest.param({SCHEMA_HEADER: "tenant_never_was"}, "no longer exists", id="unknown-schema"),
    ],
)
def test_a_tenant_task_with_a_wrong_schema_header_refuses_to_run(queued_job, caplog, headers, reason):
    tenant, job = queued_job
    # The worker's connection still sits in the tenant from its previous task: a refused
    # message must not fall through to that schema either.
    connection.set_tenant(tenant)  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR):
        result = tasks.job_run.apply(kwargs={"job_id": job.pk}, headers=headers)
    _assert_refused(result, caplog, reason)
    assert _untouched(tenant, job)


def test_a_message_that_never_had_the_header_refuses_to_run(queued_job, caplog):
    # `Task.apply` stamps the caller's schema into headers that lack the key (as sending
    # does), so a message from another program, with no header at all, is built here the way
    # the worker builds one: the request as the broker delivered it, run by Celery's tracer.
    tenant, job = queued_job
    connection.set_tenant(tenant)  # type: ignore[attr-defined]
    task_id = uuid.uuid4().hex
    request = {"id": task_id, "headers": {}, "delivery_info": {"is_eager": False}}
    tracer = build_tracer(
        tasks.job_run.name, tasks.job_run, eager=False, propagate=False, app=tasks.job_run.app
    )
    with caplog.at_level(logging.ERROR):
        outcome = tracer(task_id, (), {"job_id": job.pk}, request)
    assert outcome.info.state == "REJECTED"  # what the worker acks without a retry
    (record,) = _refusals(caplog)
    assert "no tenant schema header" in record.getMessage()
    assert _untouched(tenant, job)


def test_a_task_for_a_dropped_organization_refuses_to_run(queued_job, caplog):
    # As lifecycle.services._deletion_finish does it: the schema dropped and the tenant row
    # deleted in one transaction; a message sent before that arrives afterwards.
    tenant, job = queued_job
    schema = tenant.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
    tenant.delete()
    with caplog.at_level(logging.ERROR):
        result = tasks.job_run.apply(kwargs={"job_id": job.pk}, headers={SCHEMA_HEADER: schema})
    _assert_refused(result, caplog, "no longer exists")


def test_a_task_whose_schema_was_dropped_under_a_live_tenant_row_refuses_to_run(queued_job, caplog):
    # A schema dropped by hand (or a restore that skipped it) while the tenant row stays: the
    # search path would name a schema that is not there, and every query would fail in a
    # retry loop. The task refuses instead.
    tenant, job = queued_job
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{tenant.schema_name}" CASCADE')
    with caplog.at_level(logging.ERROR):
        result = tasks.job_run.apply(kwargs={"job_id": job.pk}, headers={SCHEMA_HEADER: tenant.schema_name})
    _assert_refused(result, caplog, "no longer exists")


def test_another_tenants_job_id_sent_under_this_schema_never_touches_that_job(make_tenant, user, caplog):
    # Ids are per schema (each tenant its own sequence), so B's id under A's header names a
    # row of A's or nothing; it can never reach B's row.
    tenant_a, tenant_b = make_tenant(), make_tenant()
    with schema_context(tenant_b.schema_name):
        job_b = Job.objects.create(kind=Job.Kind.MEMBERS_CSV, requested_by_id=user.pk)
    with schema_context(tenant_a.schema_name):
        assert not Job.objects.filter(pk=job_b.pk).exists()
    connection.set_tenant(tenant_b)  # type: ignore[attr-defined]  # the worker's connection left in B by its previous task
    with caplog.at_level(logging.WARNING):
        result = tasks.job_run.apply(
            kwargs={"job_id": job_b.pk}, headers={SCHEMA_HEADER: tenant_a.schema_name}
        )
    assert result.successful() and result.result is None  # nothing of A's by that id: nothing done
    assert _untouched(tenant_b, job_b)
    with schema_context(tenant_a.schema_name):
        assert not Job.objects.exists()  # and nothing made in A
    assert not _refusals(caplog)
