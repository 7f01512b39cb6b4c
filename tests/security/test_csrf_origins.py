"""A POST to one tenant's host is accepted from that host's own origin only (issue 9, item 11)."""

import pytest
from django.test import Client

from invitations.models import Invitation
from tests.conftest import host_of


@pytest.fixture
def owner_client(make_tenant, member_of):
    tenant, other = make_tenant(), make_tenant()
    client = Client(HTTP_HOST=host_of(tenant), enforce_csrf_checks=True)
    client.force_login(member_of(tenant, role="owner"))
    assert client.get("/members/").status_code == 200  # sets the CSRF cookie
    return tenant, other, client


def invite(client: Client, *, origin: str, email: str):
    return client.post(
        "/members/",
        {"email": email, "role": "member", "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
        HTTP_ORIGIN=origin,
    )


def test_post_from_another_tenants_origin_is_refused(owner_client, settings):
    tenant, other, client = owner_client

    for origin in (f"http://{host_of(other)}", f"http://{settings.SAAS_BASE_DOMAIN}", "http://evil.example"):
        response = invite(client, origin=origin, email="victim@example.com")
        assert response.status_code == 403, origin
    assert not Invitation.objects.filter(tenant=tenant).exists()


def test_post_from_its_own_origin_passes(owner_client):
    tenant, _, client = owner_client

    response = invite(client, origin=f"http://{host_of(tenant)}", email="friend@example.com")

    assert response.status_code == 302
    assert Invitation.objects.filter(tenant=tenant, email="friend@example.com").exists()
