"""The reports page: start a report (field errors for bad ranges), see the right jobs, download."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from jobs.models import Job
from jobs.services import job_execute, job_request
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


def client_for(tenant, user) -> Client:
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(user)
    return client


def test_a_member_starts_a_report_and_a_bad_range_gets_a_field_error(
    tenant, member_of, django_capture_on_commit_callbacks
):
    member = member_of(tenant)
    client = client_for(tenant, member)
    page = client.get("/reports/")
    assert (
        page.status_code == 200
        and b"Start a report" in page.content
        and b'data-live="status"' in page.content
    )
    bad = client.post(
        "/reports/", {"kind": "activity_csv", "date_from": "2026-02-01", "date_to": "2025-02-01"}
    )
    assert bad.status_code == 400
    assert b"The last day comes before the first." in bad.content
    with django_capture_on_commit_callbacks() as enqueued:
        started = client.post("/reports/", {"kind": "members_csv"})
    assert started.status_code == 302 and len(enqueued) == 1
    with schema_context(tenant.schema_name):
        assert list(Job.objects.values_list("kind", "requested_by_id")) == [("members_csv", member.pk)]


def test_members_see_their_reports_admins_see_all_and_download_goes_through_a_signed_link(tenant, member_of):
    owner, member, other = member_of(tenant, role="owner"), member_of(tenant), member_of(tenant)
    with schema_context(tenant.schema_name):
        job = job_request(kind=Job.Kind.MEMBERS_CSV, params={}, user_id=member.pk)
        job_execute(job_id=job.pk)
    row = f'data-job-id="{job.pk}"'.encode()
    assert row in client_for(tenant, member).get("/reports/").content
    assert row in client_for(tenant, owner).get("/reports/").content
    assert row not in client_for(tenant, other).get("/reports/").content
    assert client_for(tenant, other).get(f"/reports/{job.pk}/download/").status_code == 404

    client = client_for(tenant, member)
    redirect = client.get(f"/reports/{job.pk}/download/")
    assert redirect.status_code == 302 and redirect["Location"].startswith("/jobs/download/")
    download = client.get(redirect["Location"])
    assert download.status_code == 200
    assert member.email.encode() in download.getvalue()
