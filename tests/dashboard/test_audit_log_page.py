"""The audit log page: owners and admins, filters by who, what and when, keyset pages."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.services import tenant_rename
from dashboard.views import AUDIT_PAGE_SIZE
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(tenant, member_of):
    return {role: member_of(tenant, role=role) for role in ("owner", "admin", "member")}


def signed_in(tenant, user) -> Client:
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(user)
    return client


def page(tenant, user, **params):
    return signed_in(tenant, user).get("/audit-log/", params)


def test_members_are_refused(tenant, people):
    assert page(tenant, people["member"]).status_code == 403


def test_filters_and_pages(tenant, people, django_assert_max_num_queries):
    admin = people["admin"]
    for number in range(AUDIT_PAGE_SIZE + 2):
        tenant_rename(actor=admin, tenant=tenant, name=f"Name {number}")
    owner = signed_in(tenant, people["owner"])
    owner.get("/audit-log/")
    # session, user, membership, the actor choices, the page of rows, the shell's switcher,
    # domains and bell; no query per row.
    with django_assert_max_num_queries(10):
        first = owner.get("/audit-log/", {"actor": admin.pk, "action": "tenant.renamed"})
    html = first.content.decode()
    assert first.status_code == 200
    assert html.count("renamed the organization") == AUDIT_PAGE_SIZE
    assert f"Name {AUDIT_PAGE_SIZE + 1}" in html and "from Name 0 to Name 1" not in html
    older = first.context["older"]
    second = page(tenant, people["owner"], **dict(pair.split("=") for pair in older.split("&")))
    assert second.content.decode().count("renamed the organization") == 2
    assert "from Name 0 to Name 1" in second.content.decode()
    assert not second.context["older"]

    joined = page(tenant, people["admin"], action="member.added").content.decode()
    assert joined.count("joined as") == 3 and "renamed the organization" not in joined
    nothing = page(tenant, people["owner"], date_from="2999-01-01").content.decode()
    assert "Nothing matches." in nothing


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"action": "made.up"}, "action"),
        ({"actor": "999999"}, "actor"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_from": "2026-02-02", "date_to": "2026-02-01"}, "date_to"),
    ],
)
def test_bad_filters_are_field_errors(tenant, people, params, field):
    response = page(tenant, people["owner"], **params)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
