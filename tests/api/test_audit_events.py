"""GET /api/v1/audit-events/: the audit log, owners and admins with the audit:read scope."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import Membership
from accounts.services import membership_role_change, tenant_rename
from activity.models import AuditEvent
from tests.api.conftest import Api, problem_of
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def audit_api(tenant, make_key) -> Api:
    return Api(host_of(tenant), make_key("audit:read"))


def test_lists_newest_first_with_filters_and_cursor_pages(
    audit_api, tenant, owner, member_of, django_assert_max_num_queries
):
    admin = member_of(tenant, role="admin")
    for number in range(4):
        tenant_rename(actor=admin, tenant=tenant, name=f"Name {number}")
    audit_api.get("/api/v1/audit-events/")  # warms the host cache and the key's last-used stamp
    with django_assert_max_num_queries(3):
        body = audit_api.get("/api/v1/audit-events/", {"page_size": 3}).json()
    rows = body["results"]
    assert [row["changes"]["name"] for row in rows] == [
        ["Name 2", "Name 3"],
        ["Name 1", "Name 2"],
        ["Name 0", "Name 1"],
    ]
    assert rows[0]["sentence"] == f"{admin.get_full_name()} renamed the organization from Name 2 to Name 3"
    seen = [row["id"] for row in rows]
    while body["next"]:
        body = audit_api.get(body["next"].split(host_of(tenant))[1]).json()
        seen += [row["id"] for row in body["results"]]
    with schema_context(tenant.schema_name):
        assert seen == list(AuditEvent.objects.order_by("-created_at", "-id").values_list("id", flat=True))

    by_admin = audit_api.get("/api/v1/audit-events/", {"actor_id": admin.pk, "action": "tenant.renamed"})
    assert len(by_admin.json()["results"]) == 4
    joined = audit_api.get("/api/v1/audit-events/", {"action": "member.added"}).json()["results"]
    assert {row["actor_id"] for row in joined} == {owner.pk, admin.pk}
    future = audit_api.get("/api/v1/audit-events/", {"created_after": "2999-01-01T00:00:00Z"})
    assert future.json()["results"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"action": "nope"}, "action"),
        ({"actor_id": "x"}, "actor_id"),
        ({"created_after": "soon"}, "created_after"),
    ],
)
def test_bad_filters_are_field_errors(audit_api, params, field):
    response = audit_api.get("/api/v1/audit-events/", params)
    assert response.status_code == 400
    assert problem_of(response)["errors"][0]["field"] == field


def test_needs_the_scope_and_an_admin(tenant, owner, make_key, member_of):
    assert problem_of(Api(host_of(tenant), make_key("projects:read")).get("/api/v1/audit-events/"))[
        "code"
    ] == ("scope_missing")
    admin = member_of(tenant, role="admin")
    as_member = Api(host_of(tenant), make_key("audit:read", actor=admin))
    membership_role_change(actor=owner, membership=Membership.objects.get(user=admin), role="member")
    assert problem_of(as_member.get("/api/v1/audit-events/"))["code"] == "role_too_low"


def test_is_read_only(audit_api):
    assert problem_of(audit_api.post("/api/v1/audit-events/", {}))["status"] == 405
