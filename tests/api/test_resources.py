"""Members, invitations, notifications and billing over the API: happy paths, refusals, query counts."""

from __future__ import annotations

import pytest
from django.core import mail
from django_tenants.utils import schema_context

from invitations.models import Invitation
from notifications.models import Notification
from tests.api.conftest import Api, problem_of
from tests.conftest import host_of, on_plan

pytestmark = pytest.mark.django_db


def test_members_list_filter_and_query_count(api, tenant, owner, member_of, django_assert_max_num_queries):
    for _ in range(3):
        member_of(tenant, role="member")
    api.get("/api/v1/members/")  # warms the host cache, remembers the key, stamps its last use
    with django_assert_max_num_queries(1):  # the page (the key is remembered: api.verified_keys)
        rows = api.get("/api/v1/members/").json()["results"]
    assert len(rows) == 4 and {row["role"] for row in rows} == {"owner", "member"}
    owners = api.get("/api/v1/members/", {"role": "owner"}).json()["results"]
    assert [row["email"] for row in owners] == [owner.email]
    assert problem_of(api.get("/api/v1/members/", {"role": "king"}))["errors"][0]["field"] == "role"


def test_members_writes_are_not_served_yet(api):
    assert problem_of(api.post("/api/v1/members/", {}))["code"] == "method_not_allowed"


def test_invitations_create_resend_revoke(api, tenant, settings, django_assert_max_num_queries):
    settings.INVITATION_RESEND_INTERVAL = 0
    created = api.post("/api/v1/invitations/", {"email": "New@Example.com", "role": "admin"})
    assert created.status_code == 201, created.content
    invitation = created.json()
    assert invitation["email"] == "new@example.com" and invitation["state"] == "pending"
    duplicate = api.post("/api/v1/invitations/", {"email": "new@example.com"})
    assert duplicate.status_code == 409 and problem_of(duplicate)["code"] == "duplicate"

    resent = api.post(f"/api/v1/invitations/{invitation['id']}/resend/")
    assert resent.status_code == 200, resent.content
    revoked = api.post(f"/api/v1/invitations/{invitation['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    again = api.post(f"/api/v1/invitations/{invitation['id']}/revoke/")
    assert again.status_code == 409
    assert api.post("/api/v1/invitations/999999/revoke/").status_code == 404
    with django_assert_max_num_queries(2):
        rows = api.get("/api/v1/invitations/", {"state": "revoked"}).json()["results"]
    assert [row["id"] for row in rows] == [invitation["id"]]
    bad = api.post("/api/v1/invitations/", {"email": "not an email", "role": "king"})
    assert {error["field"] for error in problem_of(bad)["errors"]} == {"email", "role"}


def test_another_organizations_invitation_is_404(api, make_tenant, member_of, settings):
    from invitations.services import invitation_create

    other = make_tenant()
    theirs = invitation_create(
        tenant=other, inviter=member_of(other, role="owner"), email="x@example.com", role="member"
    )
    assert api.post(f"/api/v1/invitations/{theirs.pk}/revoke/").status_code == 404
    assert Invitation.objects.get(pk=theirs.pk).state == "pending"
    assert all(row["id"] != theirs.pk for row in api.get("/api/v1/invitations/").json()["results"])


def test_notifications_list_mark_read_and_query_count(
    api, tenant, owner, member_of, django_assert_max_num_queries
):
    someone_else = member_of(tenant, role="admin")
    with schema_context(tenant.schema_name):
        mine = [
            Notification.objects.create(user=owner, kind="k", title=f"n{i}", event_id=f"e{i}")
            for i in range(3)
        ]
        Notification.objects.create(user=someone_else, kind="k", title="theirs", event_id="x")
        theirs = Notification.objects.get(title="theirs")
    api.get("/api/v1/notifications/")
    with django_assert_max_num_queries(2):
        rows = api.get("/api/v1/notifications/").json()["results"]
    assert [row["title"] for row in rows] == ["n2", "n1", "n0"]
    read = api.post(f"/api/v1/notifications/{mine[0].pk}/read/")
    assert read.status_code == 200 and read.json()["read_at"]
    unread = api.get("/api/v1/notifications/", {"unread": "true"}).json()["results"]
    assert [row["title"] for row in unread] == ["n2", "n1"]
    assert api.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404


def test_billing_plan_status_and_seats(api, tenant, member_of, django_assert_max_num_queries):
    on_plan(tenant, "pro")
    member_of(tenant)
    api.get("/api/v1/billing/")
    with django_assert_max_num_queries(4):  # key; billing row; members and pending invitations counted
        body = api.get("/api/v1/billing/").json()
    assert body == {"plan": "pro", "plan_name": "Pro", "status": "active", "seat_limit": 10, "seats_used": 2}
    assert api.post("/api/v1/billing/", {}).status_code == 405


def test_invitation_emails_go_out_after_commit(api, tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert api.post("/api/v1/invitations/", {"email": "later@example.com"}).status_code == 201
    assert callbacks and not mail.outbox


def test_member_key_refused_for_invitation_writes(tenant, member_of, make_key):
    admin = member_of(tenant, role="admin")
    key = Api(host_of(tenant), make_key("invitations:read", actor=admin))
    assert key.get("/api/v1/invitations/").status_code == 200
    assert problem_of(key.post("/api/v1/invitations/", {"email": "a@example.com"}))["code"] == "scope_missing"
