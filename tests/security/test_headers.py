"""Issue 17, part 2: security headers, the Content Security Policy and session rotation.

The browser half (pages, Swagger UI and the socket client with zero CSP violations) is
tests/e2e/test_csp_browser.py; this file checks what the server sends.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import Membership, User
from accounts.services import membership_role_change, tenant_ownership_transfer
from tests.accounts.conftest import client_for
from tests.conftest import follow_handoff, host_of
from tests.factories import DEFAULT_PASSWORD
from tests.security.test_safe_defaults import PYTHON, REAL_SECRETS, environment, run

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def nonce_of(response) -> str:
    (nonce,) = [value for value in policy(response)["script-src"] if value.startswith("'nonce-")]
    return nonce.removeprefix("'nonce-").removesuffix("'")


def test_every_page_has_the_strict_policy_and_the_other_headers(tenant, member_of):
    owner = member_of(tenant, role="owner")
    browser = client_for(host_of(tenant))
    browser.force_login(owner)
    for client, path in ((client_for(settings.SAAS_BASE_DOMAIN), "/login/"), (browser, "/")):
        response = client.get(path)
        assert response.status_code == 200
        csp = policy(response)
        assert csp["default-src"] == ["'self'"]
        assert csp["frame-ancestors"] == ["'none'"]
        assert csp["base-uri"] == ["'none'"]
        assert csp["object-src"] == ["'none'"]
        assert "'unsafe-inline'" not in csp["script-src"] + csp["style-src"]
        assert csp["form-action"][0] == "'self'"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        permissions = response["Permissions-Policy"]
        assert "camera=()" in permissions and "publickey-credentials-get=(self)" in permissions


def test_api_responses_have_the_api_policy_and_the_other_headers(tenant, member_of):
    from api.services import api_key_create

    _, secret = api_key_create(
        tenant=tenant, actor=member_of(tenant, role="owner"), name="k", scopes=["projects:read"]
    )
    client = client_for(host_of(tenant))
    for headers in ({"Authorization": f"Bearer {secret}"}, {"Authorization": "Bearer wrong"}):
        response = client.get("/api/v1/projects/", headers=headers)
        assert response.status_code in (200, 401)
        assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Request-ID"]


def test_the_socket_clients_own_host_is_allowed_to_connect(tenant, member_of):
    browser = client_for(host_of(tenant))
    browser.force_login(member_of(tenant))
    response = browser.get("/")
    assert "realtime/live.js" in response.content.decode()
    assert f"ws://{host_of(tenant)}" in policy(response)["connect-src"]


def test_no_inline_script_or_style_without_the_nonce(tenant, member_of):
    browser = client_for(host_of(tenant))
    browser.force_login(member_of(tenant, role="owner"))
    pages = [
        (client_for(settings.SAAS_BASE_DOMAIN), "/login/"),
        (client_for(settings.SAAS_BASE_DOMAIN), "/signup/"),
        (browser, "/"),
        (browser, "/members/"),
        (browser, "/api/docs/"),
    ]
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert " style=" not in html, path
        inline = re.findall(r"<(script|style)(?![^>]*\bsrc=)([^>]*)>", html)
        executable = [attrs for tag, attrs in inline if "application/json" not in attrs]
        for attrs in executable:
            assert f'nonce="{nonce_of(response)}"' in attrs, (path, attrs)


def test_swagger_ui_runs_its_script_under_the_nonce(tenant, member_of):
    browser = client_for(host_of(tenant))
    browser.force_login(member_of(tenant))
    response = browser.get("/api/docs/")
    assert f'<script nonce="{nonce_of(response)}">' in response.content.decode()


def test_the_handoff_page_may_post_to_the_tenants_host(tenant, member_of):
    owner = member_of(tenant, role="owner")
    public = client_for(settings.SAAS_BASE_DOMAIN)
    response = public.post("/login/", {"login": owner.email, "password": DEFAULT_PASSWORD}, follow=True)
    port = f":{settings.SAAS_PUBLIC_PORT}" if settings.SAAS_PUBLIC_PORT else ""
    assert f"{settings.SAAS_SCHEME}://{host_of(tenant)}{port}" in policy(response)["form-action"]
    assert response["Referrer-Policy"] == "origin"
    _, landed = follow_handoff(response)
    assert landed.status_code == 302


def test_login_gives_the_browser_a_new_session_key(tenant, member_of):
    owner = member_of(tenant, role="owner")
    browser = client_for(settings.SAAS_BASE_DOMAIN)
    before = browser.session  # a session with data before login (as a visitor's cart would be)
    before["seen"] = True
    before.save()
    browser.cookies[settings.SESSION_COOKIE_NAME] = str(before.session_key)

    browser.post("/login/", {"login": owner.email, "password": DEFAULT_PASSWORD})

    after = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before.session_key
    assert not Session.objects.filter(session_key=before.session_key).exists()


def _logged_in_on_tenant(tenant, user) -> Client:
    public = client_for(settings.SAAS_BASE_DOMAIN)
    response = public.post("/login/", {"login": user.email, "password": DEFAULT_PASSWORD}, follow=True)
    client, _ = follow_handoff(response)
    assert client.get("/").status_code == 200
    return client


def test_a_role_change_ends_the_members_sessions_on_every_host(
    tenant, member_of, django_capture_on_commit_callbacks
):
    owner = member_of(tenant, role="owner")
    member = member_of(tenant, role="member")
    bystander = member_of(tenant, role="member")
    member_browser = _logged_in_on_tenant(tenant, member)
    bystander_browser = _logged_in_on_tenant(tenant, bystander)
    membership = Membership.objects.get(user=member, tenant=tenant)

    with django_capture_on_commit_callbacks(execute=True):
        membership_role_change(actor=owner, membership=membership, role=Membership.Role.ADMIN)

    assert member_browser.get("/").status_code == 302  # signs in again, to a new session
    assert not Session.objects.filter(session_key=member_browser.cookies[settings.SESSION_COOKIE_NAME].value)
    assert bystander_browser.get("/").status_code == 200


def _saved_in_the_admin(tenant, member, **fields: str) -> None:
    """A superuser saves the member's change form in the admin, with `fields` changed."""
    superuser = User.objects.create_superuser("root@example.com", DEFAULT_PASSWORD)
    admin = client_for(settings.SAAS_BASE_DOMAIN)
    admin.force_login(superuser)
    membership = Membership.objects.get(user=member, tenant=tenant)
    form = {
        "email": member.email, "full_name": member.full_name, "is_active": "on", **fields,
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(membership.pk), "memberships-0-user": str(member.pk),
        "memberships-0-tenant": str(tenant.pk), "memberships-0-role": membership.role,
    }  # fmt: skip
    saved = admin.post(f"/admin/accounts/user/{member.pk}/change/", form)
    assert saved.status_code == 302, saved.content.decode()[:2000]


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_making_a_user_staff_or_superuser_in_the_admin_ends_their_sessions(
    tenant, member_of, flag, django_capture_on_commit_callbacks
):
    member = member_of(tenant, role="member")
    bystander = member_of(tenant, role="member")
    member_browser = _logged_in_on_tenant(tenant, member)
    bystander_browser = _logged_in_on_tenant(tenant, bystander)

    with django_capture_on_commit_callbacks(execute=True):
        _saved_in_the_admin(tenant, member, **{flag: "on"})

    member.refresh_from_db()
    assert getattr(member, flag) is True
    assert member_browser.get("/").status_code == 302  # signs in again, to a new session
    assert bystander_browser.get("/").status_code == 200


def test_saving_a_user_in_the_admin_without_a_privilege_change_keeps_their_sessions(
    tenant, member_of, django_capture_on_commit_callbacks
):
    member = member_of(tenant, role="member")
    member_browser = _logged_in_on_tenant(tenant, member)

    with django_capture_on_commit_callbacks(execute=True):
        _saved_in_the_admin(tenant, member, full_name="A new name")

    member.refresh_from_db()
    assert member.full_name == "A new name"
    assert member_browser.get("/").status_code == 200


def test_an_ownership_transfer_ends_the_new_owners_sessions_only(
    tenant, member_of, django_capture_on_commit_callbacks
):
    owner = member_of(tenant, role="owner")
    member = member_of(tenant, role="member")
    owner_browser = _logged_in_on_tenant(tenant, owner)
    member_browser = _logged_in_on_tenant(tenant, member)
    membership = Membership.objects.get(user=member, tenant=tenant)

    with django_capture_on_commit_callbacks(execute=True):
        tenant_ownership_transfer(actor=owner, membership=membership)

    assert member_browser.get("/").status_code == 302
    assert owner_browser.get("/").status_code == 200


def test_check_deploy_with_production_settings_reports_nothing():
    result = run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"], environment(**REAL_SECRETS)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr
