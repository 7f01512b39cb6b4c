"""Tasks run in the schema they were sent from, or refuse to (saas/tasking.py).

The traps of tenant-schemas-celery each get a test: a reused headers object across a beat
fan-out (#170, #171), a message without the schema header, a schema whose tenant is gone,
groups sending every member with its own schema, chords refused for want of a result
backend (#12), and `retry()` keeping the schema (#14) on a real worker. Messages are read back
from the real Redis queues; the other runs here are in-process (`apply`), the real worker's
for reports are tests/e2e/test_jobs_worker.py.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
import redis
from celery import chord, group
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from devtools.processes import option_set
from jobs import tasks
from jobs.models import Job
from saas.queues import queue_name, queue_names
from saas.tasking import SCHEMA_HEADER, tenant_fan_out
from tests.e2e.support.processes import CeleryWorker, running
from tests.jobs.retry_probe import retry_probe

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker():
    """This test process's real queues, emptied around the test; `messages(purpose)` reads one."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queues = queue_names(prefix=settings.CELERY_QUEUE_PREFIX)
    client.delete(*queues)

    def messages(purpose: str) -> list[dict]:
        raw = client.lrange(queue_name(purpose, prefix=settings.CELERY_QUEUE_PREFIX), 0, -1)
        return [json.loads(item)["headers"] for item in raw]

    yield messages
    client.delete(*queues)
    client.close()


def test_fan_out_sends_one_message_per_tenant_each_with_its_own_schema(make_tenant, broker):
    tenants = [make_tenant(), make_tenant(), make_tenant()]
    sent = tenant_fan_out(tasks.stale_sweep_tenant)
    headers = broker("default")
    assert sent == len(headers) >= 3
    schemas = [h[SCHEMA_HEADER] for h in headers]
    assert len(set(schemas)) == len(schemas)  # no schema carried into the next tenant's message
    assert {t.schema_name for t in tenants} <= set(schemas)
    assert "public" not in schemas


def test_the_beat_task_fans_out_from_public(make_tenant, broker):
    tenant = make_tenant()
    with schema_context(tenant.schema_name):  # even sent from inside a tenant, it runs in public
        result = tasks.stale_sweep.apply()
    assert result.successful()
    assert tenant.schema_name in [h[SCHEMA_HEADER] for h in broker("default")]


def test_a_group_built_in_a_tenant_sends_each_member_with_that_schema(make_tenant, broker):
    first, second = make_tenant(), make_tenant()
    with schema_context(first.schema_name):
        group(tasks.stale_sweep_tenant.s(), tasks.stale_sweep_tenant.s()).apply_async()
    with schema_context(second.schema_name):
        group(tasks.stale_sweep_tenant.s()).apply_async()
    schemas = sorted(h[SCHEMA_HEADER] for h in broker("default"))
    assert schemas == sorted([first.schema_name, first.schema_name, second.schema_name])


def test_a_chord_cannot_start_so_its_callback_can_never_run_in_public(make_tenant, broker):
    # tenant-schemas-celery #12: a chord's callback, sent by the backend when the header ends,
    # ran in public. Chords need a result backend, and this project keeps none
    # (CELERY_RESULT_BACKEND = None; tasks record their outcome in their own rows): starting
    # one fails at once, in the caller, with nothing sent.
    tenant = make_tenant()
    with schema_context(tenant.schema_name), pytest.raises(NotImplementedError, match="result backend"):
        chord([tasks.stale_sweep_tenant.s(), tasks.stale_sweep_tenant.s()])(tasks.stale_sweep_tenant.s())
    assert broker("default") == []


def test_reports_and_emails_go_to_their_own_queues(make_tenant, broker):
    tenant = make_tenant()
    with schema_context(tenant.schema_name):
        tasks.job_run.apply_async(kwargs={"job_id": 1})
    assert [h["task"] for h in broker("reports")] == ["jobs.job_run"]
    assert broker("default") == []


@pytest.mark.parametrize(
    "headers", [{SCHEMA_HEADER: None}, {SCHEMA_HEADER: "no_such_schema"}, {SCHEMA_HEADER: "public"}]
)
def test_a_tenant_task_without_a_live_tenant_schema_refuses_to_run(make_tenant, user, headers):
    tenant = make_tenant()
    with schema_context(tenant.schema_name):
        job = Job.objects.create(kind=Job.Kind.MEMBERS_CSV, requested_by_id=user.pk)
    # The connection is in the tenant already (as a worker's could be): a refused message
    # must not run there either.
    connection.set_tenant(tenant)  # type: ignore[attr-defined]
    result = tasks.job_run.apply(kwargs={"job_id": job.pk}, headers=headers)
    assert result.state == "REJECTED"
    with schema_context(tenant.schema_name):
        job.refresh_from_db()
    assert (job.status, job.attempts) == (Job.Status.QUEUED, 0)


def test_a_task_whose_tenant_was_deleted_refuses_to_run(make_tenant):
    tenant = make_tenant()
    schema = tenant.schema_name
    tenant.delete()  # the schema stays (auto_drop_schema is off); the tenant is gone
    result = tasks.stale_sweep_tenant.apply(headers={SCHEMA_HEADER: schema})
    assert result.state == "REJECTED"


def test_a_tenant_task_runs_in_its_tenant(make_tenant, user):
    tenant = make_tenant()
    with schema_context(tenant.schema_name):
        job = Job.objects.create(kind=Job.Kind.MEMBERS_CSV, requested_by_id=user.pk, status="running")
    result = tasks.stale_sweep_tenant.apply(headers={SCHEMA_HEADER: tenant.schema_name})
    assert result.successful() and result.result == 0  # found its job, which is not stale
    with schema_context(tenant.schema_name):
        assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_retried_task_runs_again_in_its_tenant_on_a_real_worker(e2e_env, request, make_tenant):
    # tenant-schemas-celery #14: the message a retry() sends lost the schema header. The second
    # probe retries from inside schema_context("public") (a lookup in public, say): the header
    # must still name the schema the task was sent from, not the one the connection held.
    tenant = make_tenant()
    schema = tenant.schema_name
    worker = CeleryWorker(dict(e2e_env), queue=e2e_env["CELERY_QUEUE"])
    worker.argv = option_set(worker.argv, "--include", "tests.jobs.retry_probe")
    keys = {case: f"retry-probe:{uuid.uuid4().hex}" for case in ("plain", "from public")}
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        with running(worker, request):
            with schema_context(schema):
                retry_probe.apply_async(kwargs={"record_key": keys["plain"]})
                retry_probe.apply_async(kwargs={"record_key": keys["from public"], "switch_to": "public"})
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(client.llen(key) >= 2 for key in keys.values()):
                time.sleep(0.2)
            time.sleep(0.5)  # a third run (a retry sent twice) would show now
            runs = {
                case: [json.loads(raw) for raw in client.lrange(key, 0, -1)] for case, key in keys.items()
            }
    finally:
        client.delete(*keys.values())
        client.close()
    expected = [
        {"retries": retries, "header": schema, "connection": schema, "database": schema} for retries in (0, 1)
    ]
    assert runs == {"plain": expected, "from public": expected}
    assert "task refused" not in worker.log()


def test_visibility_timeout_exceeds_every_registered_tasks_hard_limit():
    from config.celery import app

    app.loader.import_default_modules()
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    limits = [task.time_limit or settings.CELERY_TASK_TIME_LIMIT for task in app.tasks.values()]
    assert max(limits) < visibility


def test_procfile_worker_consumes_every_queue():
    from devtools.processes import procfile_command

    argv, _ = procfile_command("worker", {})
    assert argv[argv.index("-Q") + 1].split(",") == queue_names()
