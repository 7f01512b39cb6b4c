"""POST/GET /api/v1/reports/: start, poll, list, download; field errors; scopes; other tenants."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from jobs.services import job_execute
from tests.api.conftest import Api, problem_of
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def reports(tenant, make_key) -> Api:
    return Api(host_of(tenant), make_key("reports:write"))


def test_start_poll_and_download_a_report(tenant, reports, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as enqueued:
        response = reports.post("/api/v1/reports/", {"kind": "members_csv"}, **{"Idempotency-Key": "r-1"})
    assert response.status_code == 202, response.content
    assert len(enqueued) == 1  # the task is sent after commit
    job = response.json()
    assert (job["state"], job["progress"], job["download_url"]) == ("queued", 0, None)
    assert response["Location"].endswith(f"/api/v1/reports/{job['id']}/")
    assert reports.get(f"/api/v1/reports/{job['id']}/download/").status_code == 404  # not built yet

    with schema_context(tenant.schema_name):
        job_execute(job_id=int(job["id"]))  # what the worker runs
    polled = reports.get(f"/api/v1/reports/{job['id']}/").json()
    assert polled["state"] == "succeeded" and polled["progress"] == 100
    download = reports.get(polled["download_url"].split("testserver", 1)[-1].split(host_of(tenant), 1)[-1])
    assert download.status_code == 200
    assert owner.email.encode() in download.getvalue()
    listed = reports.get("/api/v1/reports/").json()
    assert [item["id"] for item in listed["results"]] == [job["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "activity_csv", "date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to"),
        ({"kind": "activity_csv", "date_from": "2016-01-01", "date_to": "2026-01-01"}, "date_to"),
        ({"kind": "activity_csv", "date_to": "2026-01-01"}, "date_from"),
        ({"kind": "everything"}, "kind"),
        ({"kind": "members_csv", "format": "pdf"}, "format"),
    ],
)
def test_bad_requests_get_field_errors(reports, body, field):
    response = reports.post("/api/v1/reports/", body)
    assert response.status_code == 400
    assert field in {error["field"] for error in problem_of(response)["errors"]}


def test_a_key_without_the_scope_and_another_tenant_are_refused(
    tenant, make_tenant, member_of, make_key, reports
):
    other = make_tenant()
    other_owner_key = make_key("reports:write", tenant_=other, actor=member_of(other, role="owner"))
    read_only_projects = Api(host_of(tenant), make_key("projects:read"))
    job_id = reports.post("/api/v1/reports/", {"kind": "members_csv"}).json()["id"]
    assert read_only_projects.get("/api/v1/reports/").status_code == 403
    assert Api(host_of(other), other_owner_key).get(f"/api/v1/reports/{job_id}/").status_code == 404
