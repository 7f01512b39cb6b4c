"""Moving a login from the public host to a tenant host: one use, one minute, one tenant."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import LoginHandoff
from accounts.services import login_handoff_create
from tests.accounts.conftest import client_for
from tests.conftest import host_of
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_of(tenant, member_of):
    return member_of(tenant, role="owner")


def redeem(tenant, token):
    browser = client_for(host_of(tenant))
    return browser, browser.get(f"/auth/handoff/{token}/")


def test_a_token_logs_in_once(tenant, owner_of):
    token = login_handoff_create(user=owner_of, tenant=tenant)
    browser, response = redeem(tenant, token)
    assert response.status_code == 302 and response["Location"] == "/"
    assert browser.get("/").context["membership"].user == owner_of
    assert LoginHandoff.objects.get().used_at is not None
    assert token not in LoginHandoff.objects.get().token_hash  # only a hash is stored

    _, reused = redeem(tenant, token)
    assert reused.status_code == 400
    assert "This sign-in link cannot be used" in reused.content.decode()


def test_expired_token_is_refused(tenant, owner_of):
    token = login_handoff_create(user=owner_of, tenant=tenant)
    LoginHandoff.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    browser, response = redeem(tenant, token)
    assert response.status_code == 400
    assert browser.get("/").status_code == 302  # still anonymous: sent to log in


def test_token_expires_after_the_configured_time(tenant, owner_of):
    login_handoff_create(user=owner_of, tenant=tenant)
    lifetime = LoginHandoff.objects.get().expires_at - timezone.now()
    assert (
        timedelta(seconds=settings.LOGIN_HANDOFF_SECONDS - 5)
        < lifetime
        <= timedelta(seconds=settings.LOGIN_HANDOFF_SECONDS)
    )


@pytest.mark.parametrize("token", ["garbled", "x" * 43, "%2e%2e"])
def test_garbled_token_is_refused(tenant, token):
    _, response = redeem(tenant, token)
    assert response.status_code in (400, 404)


def test_token_for_another_tenant_is_refused(make_tenant, member_of):
    first, second = make_tenant(), make_tenant()
    user = member_of(first, role="owner")
    member_of(second, user=user)
    token = login_handoff_create(user=user, tenant=first)
    _, response = redeem(second, token)
    assert response.status_code == 400
    _, response = redeem(first, token)  # not spent by the wrong host
    assert response.status_code == 302


def test_membership_removed_meanwhile_is_refused(tenant, owner_of):
    token = login_handoff_create(user=owner_of, tenant=tenant)
    owner_of.memberships.all().delete()
    _, response = redeem(tenant, token)
    assert response.status_code == 400


def test_public_login_continues_to_the_only_organization(tenant, owner_of):
    browser = client_for(settings.SAAS_BASE_DOMAIN)
    response = browser.post("/login/", {"login": owner_of.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/orgs/go/"
    onward = browser.get("/orgs/go/")
    target = urlsplit(onward["Location"])
    assert target.hostname == host_of(tenant)
    tenant_browser = client_for(host_of(tenant))
    assert tenant_browser.get(target.path)["Location"] == "/"
    assert tenant_browser.get("/").status_code == 200


def test_wrong_password_stays_on_the_login_page(tenant, member_of, unique):
    # A fresh address: allauth counts failed logins per address in Redis, across test runs.
    person = member_of(tenant, user=UserFactory(email=f"{unique('wrong')}@example.com"))
    response = client_for(settings.SAAS_BASE_DOMAIN).post(
        "/login/", {"login": person.email, "password": "wrong-password"}
    )
    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.content.decode()


def test_login_page_uses_the_product_layout():
    body = client_for(settings.SAAS_BASE_DOMAIN).get("/login/").content.decode()
    assert "saas/app.css" in body and 'class="card narrow"' in body


def test_tenant_dashboard_sends_anonymous_visitors_to_the_public_login(tenant):
    response = client_for(host_of(tenant)).get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"http://localhost:{settings.SAAS_PUBLIC_PORT}/login/?next=")


def test_login_with_next_on_a_tenant_host_goes_to_that_tenant(make_tenant, member_of):
    first, second = make_tenant(), make_tenant()
    user = member_of(first, role="owner")
    member_of(second, user=user)
    browser = client_for(settings.SAAS_BASE_DOMAIN)
    next_url = f"http://{host_of(second)}:{settings.SAAS_PUBLIC_PORT}/"
    response = browser.post(
        f"/login/?next={next_url}", {"login": user.email, "password": DEFAULT_PASSWORD, "next": next_url}
    )
    assert response.status_code == 302
    onward = browser.get(response["Location"])
    assert urlsplit(onward["Location"]).hostname == host_of(second)


def test_logout_on_a_tenant_host_ends_both_sessions(tenant, owner_of):
    public = client_for(settings.SAAS_BASE_DOMAIN)
    public.force_login(owner_of)
    tenant_browser = client_for(host_of(tenant))
    tenant_browser.force_login(owner_of)
    assert tenant_browser.get("/").status_code == 200

    response = tenant_browser.post("/auth/logout/")
    assert response.status_code == 302
    assert tenant_browser.get("/").status_code == 302  # logged out here
    target = urlsplit(response["Location"])
    assert target.hostname == settings.SAAS_BASE_DOMAIN
    assert public.get("/orgs/").status_code == 200  # still logged in there until the link is followed
    assert public.get(target.path).status_code == 302
    assert public.get("/orgs/").status_code == 302  # now logged out there too


def test_logout_link_cannot_log_out_someone_else(tenant, owner_of, member_of):
    other = member_of(tenant)
    tenant_browser = client_for(host_of(tenant))
    tenant_browser.force_login(owner_of)
    link = urlsplit(tenant_browser.post("/auth/logout/")["Location"]).path
    victim = client_for(settings.SAAS_BASE_DOMAIN)
    victim.force_login(other)
    victim.get(link)
    assert victim.get("/orgs/").status_code == 200
