"""Jobs in the admin on the public host: choose an organization, see its jobs only, re-run failed ones."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from jobs.models import Job
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_staff_see_one_tenants_jobs_and_rerun_a_failed_one(
    public_client, make_tenant, user, django_capture_on_commit_callbacks
):
    first, second = make_tenant(), make_tenant()
    with schema_context(first.schema_name):
        failed = Job.objects.create(
            kind=Job.Kind.MEMBERS_CSV, requested_by_id=user.pk, status="failed", error="x"
        )
    with schema_context(second.schema_name):
        Job.objects.create(kind=Job.Kind.SUMMARY_XLSX, requested_by_id=user.pk)
    public_client.force_login(UserFactory(is_staff=True, is_superuser=True))

    chooser = public_client.get("/admin/jobs/job/")
    assert chooser.status_code == 200
    assert f"/admin/jobs/job/in/{first.schema_name}/".encode() in chooser.content

    url = f"/admin/jobs/job/in/{first.schema_name}/"
    listing = public_client.get(url)
    assert listing.status_code == 200
    assert b'<td class="field-kind">Members (CSV)</td>' in listing.content
    assert b'<td class="field-kind">Organization summary (XLSX)</td>' not in listing.content  # B's

    with django_capture_on_commit_callbacks() as enqueued:
        done = public_client.post(url, {"action": "rerun_failed", "_selected_action": [str(failed.pk)]})
    assert done.status_code == 302 and len(enqueued) == 1
    with schema_context(first.schema_name):
        failed.refresh_from_db()
    assert failed.status == Job.Status.QUEUED
    assert public_client.get("/admin/jobs/job/in/t_nobody/").status_code == 404
