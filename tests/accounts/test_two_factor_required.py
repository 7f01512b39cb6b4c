"""Issue 17, part 3: an organization that requires two-factor, and staff on the admin.

Owners switch it on the settings page (audited); then a member without two-factor is sent to
set it up before any tenant page, the session API refuses them and the socket closes, while
the hand-off, logout, static files, health checks, the setup pages and API keys stay open.
"""

from __future__ import annotations

import pyotp
import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.test import Client, override_settings
from django_tenants.utils import schema_context

from activity.models import AuditAction, AuditEvent
from api.services import api_key_create
from realtime.middleware import CLOSE_NOT_A_MEMBER
from tenants.models import Tenant
from tests.accounts.conftest import client_for
from tests.accounts.test_two_factor import log_in, totp_activate
from tests.conftest import follow_handoff, host_of
from tests.factories import UserFactory
from tests.realtime.conftest import closed_with, run, session_cookie, socket

pytestmark = pytest.mark.django_db


def with_totp(user) -> pyotp.TOTP:
    secret = pyotp.random_base32()
    TOTP.activate(user, secret)
    return pyotp.TOTP(secret)


def requiring(tenant) -> Tenant:
    Tenant.objects.filter(pk=tenant.pk).update(require_two_factor=True)
    tenant.refresh_from_db()
    return tenant


def on_tenant(tenant, user) -> Client:
    client = client_for(host_of(tenant))
    client.force_login(user)
    return client


# --- the setting --------------------------------------------------------------------------


def test_an_owner_with_two_factor_switches_it_on_and_the_change_is_audited(tenant, member_of):
    owner = member_of(tenant, role="owner")
    with_totp(owner)
    browser = on_tenant(tenant, owner)
    page = browser.get("/settings/").content.decode()
    assert 'name="require_two_factor"' in page

    response = browser.post("/settings/two-factor/", {"require_two_factor": "on"}, follow=True)

    assert "now requires two-factor authentication" in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.require_two_factor is True
    with schema_context(tenant.schema_name):
        event = AuditEvent.objects.get(action=AuditAction.TWO_FACTOR_REQUIREMENT_CHANGED)
    assert event.data == {"require_two_factor": True, "previous": False}

    browser.post("/settings/two-factor/", {})
    tenant.refresh_from_db()
    assert tenant.require_two_factor is False


def test_an_owner_without_two_factor_is_told_to_set_it_up_first(tenant, member_of):
    owner = member_of(tenant, role="owner")
    response = on_tenant(tenant, owner).post(
        "/settings/two-factor/", {"require_two_factor": "on"}, follow=True
    )
    assert "Set up two-factor authentication for your own account first" in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.require_two_factor is False


def test_admins_and_members_cannot_switch_it(tenant, member_of):
    member_of(tenant, role="owner")
    for role in ("admin", "member"):
        user = member_of(tenant, role=role)
        with_totp(user)
        browser = on_tenant(tenant, user)
        assert browser.post("/settings/two-factor/", {"require_two_factor": "on"}).status_code == 403
        assert 'name="require_two_factor"' not in browser.get("/settings/").content.decode()
    tenant.refresh_from_db()
    assert tenant.require_two_factor is False


# --- enforcement --------------------------------------------------------------------------


def test_a_member_without_two_factor_is_sent_to_set_it_up_from_every_tenant_page(tenant, member_of):
    requiring(tenant)
    member = member_of(tenant, role="admin")
    browser = on_tenant(tenant, member)
    port = f":{settings.SAAS_PUBLIC_PORT}" if settings.SAAS_PUBLIC_PORT else ""
    setup = f"{settings.SAAS_SCHEME}://{settings.SAAS_BASE_DOMAIN}{port}/account/two-factor-required/{tenant.slug}/"
    for path in ("/", "/members/", "/settings/", "/billing/", "/notifications/", "/api-keys/"):
        response = browser.get(path)
        assert (response.status_code, response["Location"]) == (302, setup), path
    # What stays open: static files, health, logout.
    assert browser.get("/static/saas/app.css").status_code == 200
    assert browser.get("/healthz").status_code == 200
    assert browser.post("/auth/logout/").status_code == 302
    assert browser.get("/").status_code == 302  # signed out now: the login redirect


def test_the_setup_page_leads_through_activation_back_to_the_organization(tenant, member_of):
    requiring(tenant)
    member = member_of(tenant)
    public = client_for(settings.SAAS_BASE_DOMAIN)
    log_in(public, member.email)
    page = public.get(f"/account/two-factor-required/{tenant.slug}/")
    assert page.status_code == 200
    assert f"{tenant.name} requires two-factor authentication" in page.content.decode()

    totp_activate(public)
    after = public.get(f"/account/two-factor-required/{tenant.slug}/")
    tenant_browser, landed = follow_handoff(after)
    assert landed.status_code == 302 and landed["Location"] == "/"
    assert tenant_browser.get("/").status_code == 200


def test_a_member_with_two_factor_logs_in_with_the_code_and_reaches_the_organization(tenant, member_of):
    requiring(tenant)
    member = member_of(tenant)
    totp = with_totp(member)
    public = client_for(settings.SAAS_BASE_DOMAIN)
    assert log_in(public, member.email)["Location"] == "/2fa/authenticate/"
    handoff = public.post("/2fa/authenticate/", {"code": totp.now()}, follow=True)
    browser, landed = follow_handoff(handoff)
    assert landed["Location"] == "/"
    for path in ("/", "/members/", "/settings/"):
        assert browser.get(path).status_code == 200, path


def test_the_session_api_refuses_and_api_keys_still_work(tenant, member_of):
    owner = member_of(tenant, role="owner")
    _, secret = api_key_create(
        tenant=tenant, actor=owner, name="ci", scopes=["projects:write"], expires_at=None
    )
    requiring(tenant)

    session_api = on_tenant(tenant, owner).get("/api/v1/projects/")
    assert session_api.status_code == 403
    assert session_api.json()["code"] == "two_factor_required"

    keyed = Client(HTTP_HOST=host_of(tenant)).get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert keyed.status_code == 200


def test_staff_without_two_factor_are_sent_to_set_it_up_before_the_admin(db):
    staff = UserFactory(is_staff=True, is_superuser=True)
    public = client_for(settings.SAAS_BASE_DOMAIN)
    log_in(public, str(staff.email))
    with override_settings(ADMIN_REQUIRE_TWO_FACTOR=False):
        assert public.get("/admin/").status_code == 200
    with override_settings(ADMIN_REQUIRE_TWO_FACTOR=True):
        refused = public.get("/admin/accounts/user/")
        assert (refused.status_code, refused["Location"]) == (302, "/2fa/")
        assert "Set up two-factor authentication to use the admin." in public.get("/2fa/").content.decode()
        with_totp(staff)
        assert public.get("/admin/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_socket_refuses_a_session_without_two_factor(make_tenant, member_of, drop_new_tenant_schemas):
    tenant = requiring(make_tenant())
    without, with_ = member_of(tenant), member_of(tenant)
    with_totp(with_)
    host = host_of(tenant)
    cookies = {"without": session_cookie(without, host), "with": session_cookie(with_, host)}

    async def body():
        without_socket = socket(host, cookie=cookies["without"])
        await without_socket.connect(timeout=5)
        code = await closed_with(without_socket)
        await without_socket.disconnect()
        with_socket = socket(host, cookie=cookies["with"])
        connected, _ = await with_socket.connect(timeout=5)
        first = await with_socket.receive_json_from(timeout=5)
        await with_socket.disconnect()
        return code, connected, first["type"]

    assert run(body) == (CLOSE_NOT_A_MEMBER, True, "snapshot")
