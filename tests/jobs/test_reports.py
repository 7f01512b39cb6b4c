"""Reports built in-process by the service the worker runs: rows, isolation, links, progress."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import openpyxl
import pytest
from django.core import signing
from django.test import Client, override_settings
from django_tenants.utils import schema_context

from activity.models import AuditAction, AuditEvent
from activity.services import audit_record
from jobs.forms import ReportRequestForm
from jobs.models import Job
from jobs.selectors import job_download_token
from jobs.services import job_execute, job_fail_stale, job_request
from notifications.models import Notification
from tests.conftest import host_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_orgs(make_tenant, member_of):
    first, second = make_tenant(), make_tenant()
    owner_a = member_of(first, UserFactory(email="owner-a@example.com"), role="owner")
    member_a = member_of(first, UserFactory(email="member-a@example.com"))
    owner_b = member_of(second, UserFactory(email="owner-b@example.com"), role="owner")
    return first, second, owner_a, member_a, owner_b


def run_report(tenant, user, kind=Job.Kind.MEMBERS_CSV, params=None, capture=None):
    with schema_context(tenant.schema_name):
        job = job_request(kind=kind, params=params or {}, user_id=user.pk)
        return job_execute(job_id=job.pk)


def file_text(tenant, job) -> str:
    with schema_context(tenant.schema_name), job.file.open("rb") as handle:
        return handle.read().decode()


def test_members_csv_holds_only_its_tenants_rows_and_notifies(two_orgs):
    first, _, owner_a, _, _ = two_orgs
    job = run_report(first, owner_a)
    assert job.status == Job.Status.DONE and job.progress == 100 and job.attempts == 1
    rows = list(csv.reader(io.StringIO(file_text(first, job))))
    assert rows[0] == ["email", "name", "role", "joined_at"]
    assert sorted(r[0] for r in rows[1:]) == ["member-a@example.com", "owner-a@example.com"]
    with schema_context(first.schema_name):
        assert Notification.objects.filter(user_id=owner_a.pk, kind="job.done").count() == 1


def test_activity_csv_covers_the_range_and_neutralises_formulas(two_orgs):
    first, second, owner_a, _, _ = two_orgs
    with schema_context(first.schema_name):
        audit_record(action=AuditAction.PROJECT_CREATED, target="=HYPERLINK(evil)")
    with schema_context(second.schema_name):
        audit_record(action=AuditAction.PROJECT_CREATED, target="other tenant's project")
    today = date.today()
    params = {"date_from": (today - timedelta(days=1)).isoformat(), "date_to": today.isoformat()}
    job = run_report(first, owner_a, kind=Job.Kind.ACTIVITY_CSV, params=params)
    text = file_text(first, job)
    assert "'=HYPERLINK(evil)" in text
    assert "other tenant" not in text


def test_summary_xlsx_is_a_workbook_of_its_tenants_rows_only(two_orgs):
    first, second, owner_a, _, owner_b = two_orgs
    with schema_context(first.schema_name):
        audit_record(action=AuditAction.PROJECT_CREATED, actor=owner_a, target="first's project")
    with schema_context(second.schema_name):
        audit_record(action=AuditAction.PROJECT_CREATED, actor=owner_b, target="other tenant's project")
    job = run_report(first, owner_a, kind=Job.Kind.SUMMARY_XLSX)
    assert job.status == Job.Status.DONE
    with schema_context(first.schema_name):
        with job.file.open("rb") as handle:
            workbook = openpyxl.load_workbook(io.BytesIO(handle.read()), read_only=True)
        activity = [
            [event.created_at.isoformat(), event.action, event.actor_email, event.target]
            for event in AuditEvent.objects.order_by("created_at", "id")
        ]
    assert workbook.sheetnames == ["Summary", "Members", "Activity"]
    sheets = {
        name: [list(row) for row in workbook[name].iter_rows(values_only=True)]
        for name in workbook.sheetnames
    }
    summary = dict(sheets["Summary"])
    assert (summary["Organization"], summary["Members"]) == (first.name, 2)
    assert summary["Activity entries"] == len(activity) >= 2  # set-up rows and the one above

    header, *members = sheets["Members"]
    assert header == ["email", "name", "role", "joined_at"]
    assert sorted((row[0], row[2]) for row in members) == [
        ("member-a@example.com", "member"),
        ("owner-a@example.com", "owner"),
    ]
    header, *events = sheets["Activity"]
    assert header == ["at", "action", "actor", "target"]
    assert events == activity
    assert "first's project" in [row[3] for row in events]

    cells = [str(value) for rows in sheets.values() for row in rows for value in row]
    assert not [cell for cell in cells if "owner-b@example.com" in cell or "other tenant" in cell]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "date_to", "comes before"),
        ({"date_from": "2016-01-01", "date_to": "2026-01-01"}, "date_to", "at most 366 days"),
        ({"date_from": "not a date", "date_to": "2026-01-01"}, "date_from", "valid date"),
        ({"date_to": "2026-01-01"}, "date_from", "first day"),
    ],
)
def test_bad_date_ranges_get_a_field_error(data, field, message):
    form = ReportRequestForm(data={"kind": Job.Kind.ACTIVITY_CSV, **data})
    assert not form.is_valid()
    assert message in " ".join(str(error) for error in form.errors[field])


def _download(tenant, user, token) -> int:
    client = Client(HTTP_HOST=host_of(tenant))
    if user is not None:
        client.force_login(user)
    return client.get(f"/jobs/download/{token}/").status_code


def test_download_is_for_the_requester_or_an_admin_of_the_same_tenant_while_fresh(two_orgs, member_of):
    first, second, owner_a, member_a, owner_b = two_orgs
    job = run_report(first, member_a)
    with schema_context(first.schema_name):
        token = job_download_token(job=job)
    client = Client(HTTP_HOST=host_of(first))
    client.force_login(member_a)
    response = client.get(f"/jobs/download/{token}/")
    assert response.status_code == 200
    assert b"member-a@example.com" in response.getvalue()
    assert _download(first, owner_a, token) == 200  # an owner may have any of the tenant's reports
    other_member = member_of(first, UserFactory())
    assert _download(first, other_member, token) == 404  # another plain member may not
    assert _download(second, owner_b, token) == 404  # B's host: the token names A's schema
    assert _download(first, owner_b, token) == 403  # not a member of A
    assert _download(first, None, token) == 302  # signed out: to the login
    with override_settings(JOB_DOWNLOAD_LINK_SECONDS=-1):
        assert _download(first, member_a, token) == 404  # expired
    forged = signing.TimestampSigner(salt="something else").sign(f"{first.schema_name}:{job.pk}")
    assert _download(first, member_a, forged) == 404


def test_a_second_copy_of_a_finished_job_does_nothing(two_orgs):
    first, _, owner_a, _, _ = two_orgs
    job = run_report(first, owner_a)
    with schema_context(first.schema_name):
        assert job_execute(job_id=job.pk) is None
        job.refresh_from_db()
    assert job.attempts == 1


def test_stale_running_jobs_are_failed_by_the_sweep(two_orgs, settings):
    first, _, owner_a, _, _ = two_orgs
    with schema_context(first.schema_name):
        job = job_request(kind=Job.Kind.MEMBERS_CSV, params={}, user_id=owner_a.pk)
        from django.utils import timezone

        old = timezone.now() - timedelta(seconds=settings.JOB_TIME_LIMIT_SECONDS + 120)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=old, attempts=1)
        assert job_fail_stale() == 1
        job.refresh_from_db()
        assert job.status == Job.Status.FAILED and "stopped" in job.error
        assert Notification.objects.filter(user_id=owner_a.pk, title__contains="failed").exists()


def test_a_job_past_its_attempts_fails(two_orgs, settings):
    first, _, owner_a, _, _ = two_orgs
    with schema_context(first.schema_name):
        job = job_request(kind=Job.Kind.MEMBERS_CSV, params={}, user_id=owner_a.pk)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=settings.JOB_MAX_ATTEMPTS)
        failed = job_execute(job_id=job.pk)
    assert failed is not None and failed.status == Job.Status.FAILED and "Gave up" in failed.error


def test_job_rerun_queues_a_failed_job_and_refuses_others(two_orgs, django_capture_on_commit_callbacks):
    from django.core.management import CommandError, call_command

    first, _, owner_a, _, _ = two_orgs
    with schema_context(first.schema_name):
        job = job_request(kind=Job.Kind.MEMBERS_CSV, params={}, user_id=owner_a.pk)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error="boom", attempts=3)
    out = io.StringIO()
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("job_rerun", first.schema_name, str(job.pk), stdout=out)
    assert len(callbacks) == 1  # the enqueue, after commit
    assert "queued again" in out.getvalue()
    with schema_context(first.schema_name):
        job.refresh_from_db()
    assert (job.status, job.error, job.attempts) == (Job.Status.QUEUED, "", 0)
    with pytest.raises(CommandError, match="only failed jobs"):
        call_command("job_rerun", first.schema_name, str(job.pk))
    with pytest.raises(CommandError, match="No tenant"):
        call_command("job_rerun", "t_nobody", str(job.pk))
    with pytest.raises(CommandError, match="has no job"):
        call_command("job_rerun", first.schema_name, "999999")


def test_the_worker_refuses_to_start_with_a_visibility_timeout_under_a_time_limit():
    import subprocess
    import sys

    env = {
        **__import__("os").environ,
        "CELERY_VISIBILITY_TIMEOUT": "100",
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "must exceed the longest task time limit" in result.stderr


def test_a_job_left_queued_is_sent_again_by_the_sweep(two_orgs, settings):
    import json

    import redis as redis_client
    from django.utils import timezone

    from saas.queues import queue_name

    first, _, owner_a, _, _ = two_orgs
    queue = queue_name("reports", prefix=settings.CELERY_QUEUE_PREFIX)
    client = redis_client.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(queue)
    with schema_context(first.schema_name):
        waiting = job_request(
            kind=Job.Kind.MEMBERS_CSV, params={}, user_id=owner_a.pk
        )  # never sent: no commit
        recent = job_request(kind=Job.Kind.MEMBERS_CSV, params={}, user_id=owner_a.pk)
        long_ago = timezone.now() - timedelta(seconds=settings.JOB_QUEUED_RESEND_SECONDS + 1)
        Job.objects.filter(pk=waiting.pk).update(created_at=long_ago)
        job_fail_stale()
    messages = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
    client.delete(queue)
    client.close()
    assert [m["headers"]["_schema_name"] for m in messages] == [first.schema_name]
    assert str(waiting.pk) in messages[0]["headers"]["kwargsrepr"] and recent.pk != waiting.pk
