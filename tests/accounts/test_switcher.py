"""The organization switcher: every organization of the user, moved between by hand-off."""

import pytest
from django.conf import settings

from tests.accounts.conftest import client_for
from tests.conftest import follow_handoff, handoff_of, host_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_orgs(make_tenant, member_of):
    first, second = make_tenant(name="Alpha Org"), make_tenant(name="Beta Org")
    user = member_of(first, role="owner")
    member_of(second, user=user, role="member")
    return user, first, second


def test_orgs_page_lists_every_organization(two_orgs, make_tenant, django_assert_max_num_queries):
    user, first, second = two_orgs
    make_tenant(name="Gamma Not Mine")
    browser = client_for(settings.SAAS_BASE_DOMAIN)
    browser.force_login(user)
    with django_assert_max_num_queries(8):
        body = browser.get("/orgs/").content.decode()
    assert "Alpha Org" in body and "Beta Org" in body and "Gamma Not Mine" not in body
    assert browser.get("/orgs/go/")["Location"] == "/orgs/"  # several: the user picks


def test_open_from_the_public_host(two_orgs):
    user, _, second = two_orgs
    browser = client_for(settings.SAAS_BASE_DOMAIN)
    browser.force_login(user)
    response = browser.post(f"/orgs/{second.slug}/open/")
    assert handoff_of(response)[0] == host_of(second)


def test_switch_from_one_tenant_dashboard_to_another(two_orgs):
    user, first, second = two_orgs
    on_first = client_for(host_of(first))
    on_first.force_login(user)
    dashboard = on_first.get("/").content.decode()
    assert f'action="/auth/switch/{second.slug}/"' in dashboard  # the menu lists the other org
    assert "Beta Org" in dashboard

    response = on_first.post(f"/auth/switch/{second.slug}/")
    assert handoff_of(response)[0] == host_of(second)
    # The page's form posts from the first tenant's host to the second's.
    origin = f"http://{host_of(first)}:{settings.SAAS_PUBLIC_PORT}"
    on_second, landed = follow_handoff(response, origin=origin, client=client_for(host_of(second)))
    assert landed["Location"] == "/"
    page = on_second.get("/")
    assert page.status_code == 200 and page.context["membership"].role == "member"


def test_cannot_open_or_switch_to_an_organization_one_is_not_in(two_orgs, make_tenant):
    user, first, _ = two_orgs
    stranger = make_tenant()
    public = client_for(settings.SAAS_BASE_DOMAIN)
    public.force_login(user)
    assert public.post(f"/orgs/{stranger.slug}/open/").status_code == 404
    on_first = client_for(host_of(first))
    on_first.force_login(user)
    assert on_first.post(f"/auth/switch/{stranger.slug}/").status_code == 404


def test_switch_needs_a_login(two_orgs):
    _, first, second = two_orgs
    response = client_for(host_of(first)).post(f"/auth/switch/{second.slug}/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]
