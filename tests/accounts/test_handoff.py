"""Moving a login from the public host to a tenant host: one use, one minute, one tenant."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import LoginHandoff
from accounts.services import login_handoff_create
from tests.accounts.conftest import client_for
from tests.conftest import follow_handoff, handoff_of, host_of, public_origin
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_of(tenant, member_of):
    return member_of(tenant, role="owner")


def redeem(tenant, token, origin=None):
    browser = client_for(host_of(tenant))
    return browser, browser.post("/auth/handoff/", {"token": token}, HTTP_ORIGIN=origin or public_origin())


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


def test_the_page_carries_the_token_to_the_tenant_host_by_post(tenant, owner_of):
    browser = client_for(settings.SAAS_BASE_DOMAIN)
    browser.force_login(owner_of)
    page = browser.get("/orgs/go/")
    assert page["Cache-Control"] == "no-store"  # it holds a live token
    # Browsers send `Origin: null` on the form's cross-origin POST under "same-origin".
    assert page["Referrer-Policy"] == "origin"
    host, token = handoff_of(page)
    assert host == host_of(tenant)
    assert token not in page.get("Location", "")
    assert 'src="/static/saas/autosubmit.js"' in page.content.decode()


def test_a_get_never_logs_in(tenant, owner_of):
    """Review item 6: a link a third-party page opens (a GET) cannot redeem a token."""
    token = login_handoff_create(user=owner_of, tenant=tenant)
    browser = client_for(host_of(tenant))
    assert browser.get(f"/auth/handoff/{token}/").status_code == 404
    assert browser.get("/auth/handoff/", {"token": token}).status_code == 405
    assert browser.get("/").status_code == 302  # still anonymous
    assert LoginHandoff.objects.get().used_at is None


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "null",
        "http://evil.example",
        "http://localhost.evil.example:8000",
        "https://localhost:8000",
        "http://custom-domain.example",
    ],
)
def test_a_post_from_another_site_is_refused_and_spends_nothing(tenant, owner_of, origin):
    """Login CSRF: an attacker's page posting its own token into the victim's browser."""
    token = login_handoff_create(user=owner_of, tenant=tenant)
    browser = client_for(host_of(tenant))
    headers = {} if origin is None else {"HTTP_ORIGIN": origin}
    response = browser.post("/auth/handoff/", {"token": token}, **headers)
    assert response.status_code == 400
    assert browser.get("/").status_code == 302
    assert LoginHandoff.objects.get().used_at is None


def test_a_post_from_another_tenant_host_of_ours_is_accepted(make_tenant, member_of):
    """Switching organizations posts from one tenant host to another."""
    first, second = make_tenant(), make_tenant()
    user = member_of(second, role="owner")
    token = login_handoff_create(user=user, tenant=second)
    _, response = redeem(second, token, origin=f"http://{host_of(first)}:{settings.SAAS_PUBLIC_PORT}")
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_error_page_does_not_name_the_organization(make_tenant):
    """Review item 15: an anonymous visitor on a tenant host learns nothing about it."""
    tenant = make_tenant(name="Secret Project Ltd")
    _, response = redeem(tenant, "x" * 43)
    assert response.status_code == 400
    assert "Secret Project Ltd" not in response.content.decode()


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
    tenant_browser, landed = follow_handoff(onward, client=client_for(host_of(tenant)))
    assert landed["Location"] == "/"
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
    assert handoff_of(onward)[0] == host_of(second)


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
