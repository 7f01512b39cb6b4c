"""The bell and the notifications page: the member's own notifications, read one or all."""

import re

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from notifications.models import Notification
from notifications.services import notification_create_for_admins
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


def bell_count(html: str) -> int:
    found = re.search(r'class="bell"[^>]*>.*?data-live="notifications-count">(\d+)<', html, re.S)
    assert found, "no bell on the page"
    return int(found[1])


@pytest.fixture
def told(tenant, member_of):
    """An owner with two unread notifications, and a plain member told nothing."""
    owner = member_of(tenant, role="owner")
    member = member_of(tenant, role="member")
    with schema_context(tenant.schema_name):
        for index, url in enumerate(["/billing/", ""]):
            notification_create_for_admins(
                tenant_id=tenant.pk, event_id=f"evt-{index}", kind="k", title=f"Note {index}", url=url
            )
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(owner)
    return tenant, owner, member, client


def ids_of(tenant, user) -> list[int]:
    with schema_context(tenant.schema_name):
        return list(Notification.objects.filter(user_id=user.pk).order_by("id").values_list("id", flat=True))


def test_the_bell_shows_the_unread_count_on_every_tenant_page(told):
    _, _, _, client = told
    for path in ("/", "/members/", "/notifications/"):
        assert bell_count(client.get(path).content.decode()) == 2, path


def test_marking_one_read_follows_its_link_and_lowers_the_count(told):
    tenant, owner, _, client = told
    first, second = ids_of(tenant, owner)
    response = client.post(f"/notifications/{first}/read/")
    assert response.status_code == 302 and response["Location"] == "/billing/"
    page = client.get("/notifications/").content.decode()
    assert bell_count(page) == 1
    response = client.post(f"/notifications/{second}/read/")  # no link: back to the list
    assert response["Location"] == "/notifications/"
    assert bell_count(client.get("/").content.decode()) == 0


def test_mark_all_read(told):
    _, _, _, client = told
    page = client.get("/notifications/").content.decode()
    assert "Note 0" in page and "Note 1" in page and "Mark all read" in page
    client.post("/notifications/read-all/")
    page = client.get("/notifications/").content.decode()
    assert bell_count(page) == 0 and "Mark all read" not in page
    assert "2 notification(s) marked read." in page


def test_nobody_reads_someone_elses_notifications(told, make_tenant, member_of):
    tenant, owner, member, _ = told
    other = make_tenant()
    outsider = Client(HTTP_HOST=host_of(tenant))
    outsider.force_login(member_of(other, role="owner"))
    first = ids_of(tenant, owner)[0]
    as_member = Client(HTTP_HOST=host_of(tenant))
    as_member.force_login(member)
    assert "Note 0" not in as_member.get("/notifications/").content.decode()
    assert as_member.post(f"/notifications/{first}/read/").status_code == 404
    with schema_context(tenant.schema_name):
        assert Notification.objects.get(pk=first).read_at is None
    # Anonymous visitors go to log in; members of another organization get 403.
    assert Client(HTTP_HOST=host_of(tenant)).get("/notifications/").status_code == 302
    assert outsider.get("/notifications/").status_code == 403


def test_the_list_is_a_fixed_number_of_queries(told, tenant, django_assert_max_num_queries):
    _, owner, _, client = told
    with schema_context(tenant.schema_name):
        for index in range(20):
            notification_create_for_admins(tenant_id=tenant.pk, event_id=f"more-{index}", kind="k", title="x")
    client.get("/notifications/")
    with django_assert_max_num_queries(12):
        client.get("/notifications/")
