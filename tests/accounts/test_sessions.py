"""Review item 4: a logout ends the session everywhere; a session works only on its own host."""

import pytest
import redis
from django.conf import settings
from django.contrib.sessions.models import Session

from tests.accounts.conftest import client_for
from tests.conftest import host_of
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(tenant, member_of):
    return member_of(tenant, role="owner")


def session_keys_in_redis(session_key: str) -> list[str]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    return [key.decode() for key in client.scan_iter(match=f"*{session_key}*")]


def replay(host: str, session_key: str):
    """Another client presenting a copied session cookie on `host`."""
    thief = client_for(host)
    thief.cookies[settings.SESSION_COOKIE_NAME] = session_key
    return thief


def test_logout_leaves_no_cached_copy_on_any_host(tenant, owner):
    browser = client_for(settings.SAAS_BASE_DOMAIN)
    browser.post("/login/", {"login": owner.email, "password": DEFAULT_PASSWORD})
    session_key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert browser.get("/orgs/").status_code == 200
    # The copied cookie shown to a tenant host is read there (cache and database) ...
    assert replay(host_of(tenant), session_key).get("/").status_code == 302
    assert len(session_keys_in_redis(session_key)) == 1  # one cache entry, whatever the host

    browser.post("/logout/")
    assert not Session.objects.filter(session_key=session_key).exists()
    assert session_keys_in_redis(session_key) == []
    assert replay(settings.SAAS_BASE_DOMAIN, session_key).get("/orgs/").status_code == 302


def test_a_tenant_hosts_session_does_not_open_the_public_host_or_another_tenant(make_tenant, member_of):
    first, second = make_tenant(), make_tenant()
    user = member_of(first, role="owner")
    member_of(second, user=user)
    on_first = client_for(host_of(first))
    on_first.force_login(user)
    assert on_first.get("/").status_code == 200
    session_key = on_first.cookies[settings.SESSION_COOKIE_NAME].value

    assert replay(settings.SAAS_BASE_DOMAIN, session_key).get("/orgs/").status_code == 302
    assert replay(host_of(second), session_key).get("/").status_code == 302
    # ... and the copies did not spoil the original.
    assert on_first.get("/").status_code == 200


def test_logout_on_a_tenant_host_ends_that_session_for_a_copied_cookie_too(tenant, owner):
    browser = client_for(host_of(tenant))
    browser.force_login(owner)
    assert browser.get("/").status_code == 200
    session_key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    browser.post("/auth/logout/")
    assert replay(host_of(tenant), session_key).get("/").status_code == 302
    assert session_keys_in_redis(session_key) == []
