"""Projects over the API: CRUD, ETags, strict input, cross-tenant isolation, query counts."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from activity.models import AuditAction, AuditEvent
from projects.models import Project
from tests.api.conftest import Api, problem_of
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


def in_schema(tenant, queryset_fn):
    with schema_context(tenant.schema_name):
        return queryset_fn()


def test_create_read_update_delete(api, tenant, owner):
    created = api.post("/api/v1/projects/", {"name": "Apollo", "description": "Moon", "status": "active"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "Apollo" and body["status"] == "active" and body["owner_id"] == owner.pk
    assert body["version"] == 1 and created["ETag"] == '"1"'
    assert created["Location"].endswith(f"/api/v1/projects/{body['id']}/")

    read = api.get(f"/api/v1/projects/{body['id']}/")
    assert read.status_code == 200 and read.json() == body and read["ETag"] == '"1"'

    changed = api.patch(f"/api/v1/projects/{body['id']}/", {"status": "done"}, **{"If-Match": '"1"'})
    assert changed.status_code == 200, changed.content
    assert changed.json()["status"] == "done" and changed.json()["version"] == 2 and changed["ETag"] == '"2"'

    deleted = api.delete(f"/api/v1/projects/{body['id']}/", **{"If-Match": '"2"'})
    assert deleted.status_code == 204
    assert api.get(f"/api/v1/projects/{body['id']}/").status_code == 404
    actions = in_schema(
        tenant, lambda: list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    )
    assert actions[-3:] == [
        AuditAction.PROJECT_CREATED,
        AuditAction.PROJECT_UPDATED,
        AuditAction.PROJECT_DELETED,
    ]


def test_stale_if_match_is_412_and_changes_nothing(api, tenant):
    project = api.post("/api/v1/projects/", {"name": "Gemini"}).json()
    assert api.patch(f"/api/v1/projects/{project['id']}/", {"name": "Gemini 2"}).status_code == 200
    stale = api.patch(f"/api/v1/projects/{project['id']}/", {"name": "Lost update"}, **{"If-Match": '"1"'})
    assert stale.status_code == 412
    assert problem_of(stale)["code"] == "precondition_failed"
    assert api.delete(f"/api/v1/projects/{project['id']}/", **{"If-Match": '"1"'}).status_code == 412
    assert (
        api.patch(f"/api/v1/projects/{project['id']}/", {"name": "x"}, **{"If-Match": "garbage"}).status_code
        == 412
    )
    assert in_schema(tenant, lambda: Project.objects.get().name) == "Gemini 2"


def test_bad_input_gets_field_errors(api):
    response = api.post("/api/v1/projects/", {"name": "", "status": "nope", "colour": "red", "owner_id": "x"})
    assert response.status_code == 400
    problem = problem_of(response)
    assert problem["code"] == "validation_error"
    fields = {error["field"]: error["code"] for error in problem["errors"]}
    assert fields == {"colour": "unknown_field"}  # unknown fields are refused before anything else
    response = api.post("/api/v1/projects/", {"name": "x" * 201, "status": "nope", "owner_id": "x"})
    fields = {error["field"]: error["code"] for error in problem_of(response)["errors"]}
    assert fields == {"name": "max_length", "status": "invalid_choice", "owner_id": "invalid"}
    assert problem_of(api.post("/api/v1/projects/", {"owner_id": 2**70}))["errors"]
    read_only = problem_of(api.post("/api/v1/projects/", {"name": "a", "version": 9}))
    assert read_only["errors"] == [{"field": "version", "code": "unknown_field", "detail": "Unknown field."}]
    assert problem_of(api.post("/api/v1/projects/", ["a list"]))["code"] == "validation_error"


def test_owner_must_be_a_member(api, make_tenant, member_of):
    outsider = member_of(make_tenant())
    response = api.post("/api/v1/projects/", {"name": "A", "owner_id": outsider.pk})
    assert response.status_code == 400
    assert problem_of(response)["errors"][0]["field"] == "owner_id"


def test_malformed_json_unsupported_type_huge_body_wrong_method_and_unknown_path(api, settings):
    malformed = api.post("/api/v1/projects/", raw=b'{"name": ')
    assert malformed.status_code == 400 and problem_of(malformed)["code"] == "parse_error"
    form = api.post("/api/v1/projects/", raw=b"name=x", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415 and problem_of(form)["code"] == "unsupported_media_type"
    settings.API_MAX_BODY_BYTES = 100
    huge = api.post("/api/v1/projects/", {"name": "x", "description": "y" * 200})
    assert huge.status_code == 413 and problem_of(huge)["code"] == "payload_too_large"
    put = api.send("put", "/api/v1/projects/", {"name": "x"})
    assert put.status_code == 405 and problem_of(put)["code"] == "method_not_allowed"
    assert "POST" in put["Allow"]
    unknown = api.get("/api/v1/nothing-here/")
    assert unknown.status_code == 404 and problem_of(unknown)["code"] == "not_found"
    assert problem_of(api.get("/api/v1/projects/abc/"))["code"] == "not_found"


def test_another_organizations_ids_are_404(api, tenant, make_tenant, member_of):
    other = make_tenant()
    other_owner = member_of(other, role="owner")
    from api.services import api_key_create

    _, other_secret = api_key_create(tenant=other, actor=other_owner, name="k", scopes=["projects:write"])
    theirs = Api(host_of(other), other_secret).post("/api/v1/projects/", {"name": "Secret"}).json()
    ours = api.post("/api/v1/projects/", {"name": "Ours"}).json()
    for method, call in [
        ("get", lambda: api.get(f"/api/v1/projects/{theirs['id'] + 1000}/")),
        ("patch", lambda: api.patch(f"/api/v1/projects/{theirs['id'] + 1000}/", {"name": "x"})),
        ("delete", lambda: api.delete(f"/api/v1/projects/{theirs['id'] + 1000}/")),
    ]:
        assert call().status_code == 404, method
    # Ids collide across schemas (each tenant counts from 1): the same id is our own row here.
    assert theirs["id"] == ours["id"]
    assert api.get(f"/api/v1/projects/{ours['id']}/").json()["name"] == "Ours"
    names = [row["name"] for row in api.get("/api/v1/projects/").json()["results"]]
    assert names == ["Ours"]


def test_list_paginates_by_cursor_filters_and_orders(api, tenant, owner, django_assert_max_num_queries):
    from projects.services import project_create

    with schema_context(tenant.schema_name):
        for number in range(7):
            project_create(
                tenant=tenant, actor=owner, name=f"P{number}", status="active" if number % 2 else "planned"
            )
    first = api.get("/api/v1/projects/", {"page_size": 3})
    page = first.json()
    assert [row["name"] for row in page["results"]] == ["P6", "P5", "P4"]
    assert page["previous"] is None and page["next"]
    second = api.get(page["next"].split("testserver")[-1])
    assert [row["name"] for row in second.json()["results"]] == ["P3", "P2", "P1"]

    active = api.get("/api/v1/projects/", {"status": "active", "ordering": "name"}).json()["results"]
    assert [row["name"] for row in active] == ["P1", "P3", "P5"]
    bad = api.get("/api/v1/projects/", {"status": "lost", "ordering": "secret", "page_size": 1000})
    assert {error["field"] for error in problem_of(bad)["errors"]} == {"status"}
    assert (
        problem_of(api.get("/api/v1/projects/", {"ordering": "secret"}))["errors"][0]["field"] == "ordering"
    )
    assert problem_of(api.get("/api/v1/projects/", {"page_size": 1000}))["errors"][0]["field"] == "page_size"
    assert problem_of(api.get("/api/v1/projects/", {"cursor": "zzz"}))["errors"][0]["field"] == "cursor"

    # The page alone: the key was accepted above, so it is remembered (api.verified_keys) and
    # re-checked in the rate limits' Redis call; last-used was stamped above.
    with django_assert_max_num_queries(1):
        assert len(api.get("/api/v1/projects/").json()["results"]) == 7
