"""The sign-up page through HTTP: field messages, abuse limits, landing on the dashboard."""

import pytest
from django.conf import settings
from django.test import override_settings

from accounts.models import User
from saas.models import OutboxEvent
from tenants.models import Tenant
from tests.accounts.conftest import STRONG_PASSWORD, client_for, signup_data
from tests.conftest import follow_handoff, handoff_of

pytestmark = pytest.mark.django_db


def field_errors(response, field: str) -> list[str]:
    form = response.context["form"]
    return form.errors.get(field, [])


def test_get_post_and_land_logged_in_on_the_tenant_dashboard(public_browser, unique):
    page = public_browser.get("/signup/")
    assert page.status_code == 200
    content = page.content.decode()
    for name in ("email", "password", "organization_name", "subdomain", "website"):
        assert f'name="{name}"' in content

    word = unique("land")
    response = public_browser.post("/signup/", signup_data(word, subdomain=word))
    host, _ = handoff_of(response)
    assert host == f"{word}.localhost"
    assert (
        f'action="http://{word}.localhost:{settings.SAAS_PUBLIC_PORT}/auth/handoff/"'
        in response.content.decode()
    )

    tenant_browser, handed = follow_handoff(response, client=client_for(f"{word}.localhost"))
    assert handed.status_code == 302 and handed["Location"] == "/"
    dashboard = tenant_browser.get("/")
    assert dashboard.status_code == 200
    body = dashboard.content.decode()
    assert f"Org {word}" in body and f"{word}@example.com" in body
    assert dashboard.context["membership"].role == "owner"
    # The public host is logged in too, so /signup/ now sends the user to their organizations.
    again = public_browser.get("/signup/")
    assert again.status_code == 302 and again["Location"] == "/orgs/"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": ""}, "email", "This field is required."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"password": ""}, "password", "This field is required."),
        ({"organization_name": ""}, "organization_name", "This field is required."),
        ({"password": "password1"}, "password", "This password is too common."),
        (
            {"password": "short"},
            "password",
            "This password is too short. It must contain at least 8 characters.",
        ),
        ({"subdomain": "www"}, "subdomain", "“www” is reserved; choose another subdomain."),
        (
            {"subdomain": "Bad_Name"},
            "subdomain",
            "Use lowercase letters, digits and hyphens; start and end with a letter or digit.",
        ),
    ],
)
def test_bad_input_gets_a_field_message_and_makes_nothing(public_browser, unique, overrides, field, message):
    before = (User.objects.count(), Tenant.objects.count(), OutboxEvent.objects.count())
    response = public_browser.post("/signup/", signup_data(unique("bad"), **overrides))
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert message in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert (User.objects.count(), Tenant.objects.count(), OutboxEvent.objects.count()) == before


def test_email_taken_in_another_case(public_browser, unique):
    word = unique("case")
    assert handoff_of(public_browser.post("/signup/", signup_data(word)))
    other = client_for(settings.SAAS_BASE_DOMAIN)
    response = other.post(
        "/signup/",
        signup_data(unique("x"), email=f"{word.upper()}@EXAMPLE.COM", password="a-different-pass-4321"),
    )
    assert response.status_code == 400
    assert field_errors(response, "email") == ["An account with this email address already exists."]


def test_subdomain_taken(public_browser, unique):
    word = unique("sub")
    assert handoff_of(public_browser.post("/signup/", signup_data(unique("a"), subdomain=word)))
    other = client_for(settings.SAAS_BASE_DOMAIN)
    response = other.post("/signup/", signup_data(unique("b"), subdomain=word))
    assert field_errors(response, "subdomain") == ["This subdomain is already taken."]


def test_honeypot_filled_is_refused(public_browser, unique):
    word = unique("bot")
    response = public_browser.post("/signup/", signup_data(word, website="http://spam.example"))
    assert response.status_code == 400
    assert "We could not create your account" in response.content.decode()
    assert not User.objects.filter(email=f"{word}@example.com").exists()


@override_settings(ACCOUNT_RATE_LIMITS={"signup": "2/m/ip"})
def test_rate_limit_per_ip(unique):
    browser = client_for(settings.SAAS_BASE_DOMAIN)
    # Invalid attempts (taken subdomain) count as well: a bot probing names is slowed down.
    for _ in range(2):
        assert browser.post("/signup/", signup_data(unique("ip"), subdomain="admin")).status_code == 400
    word = unique("ip")
    response = browser.post("/signup/", signup_data(word))
    assert response.status_code == 429
    assert "Too many sign-up attempts" in response.content.decode()
    assert not User.objects.filter(email=f"{word}@example.com").exists()


@override_settings(ACCOUNT_RATE_LIMITS={"signup": "100/m/ip,2/h/key"})
def test_rate_limit_per_email_across_ips(unique):
    word = unique("key")
    for _ in range(2):
        client_for(settings.SAAS_BASE_DOMAIN).post("/signup/", signup_data(word, password="short"))
    other = client_for(settings.SAAS_BASE_DOMAIN)
    response = other.post("/signup/", signup_data(word, email=f"{word.upper()}@example.com"))
    assert response.status_code == 429
    assert not User.objects.filter(email=f"{word}@example.com").exists()


def test_logged_in_user_visiting_signup_is_sent_to_their_organizations(public_browser, user):
    public_browser.force_login(user)
    response = public_browser.get("/signup/")
    assert response.status_code == 302 and response["Location"] == "/orgs/"
    assert public_browser.post("/signup/", signup_data("ignored")).status_code == 302
    assert not User.objects.filter(email="ignored@example.com").exists()


def test_password_is_stored_with_argon2(public_browser, unique):
    word = unique("argon")
    public_browser.post("/signup/", signup_data(word))
    user = User.objects.get(email=f"{word}@example.com")
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(STRONG_PASSWORD)


def test_the_same_form_sent_twice_lands_in_the_same_organization(unique):
    word = unique("dbl")
    data = signup_data(word)
    first = client_for(settings.SAAS_BASE_DOMAIN).post("/signup/", data)
    # The second copy of the request was sent before the first's answer set a session cookie.
    second = client_for(settings.SAAS_BASE_DOMAIN).post("/signup/", data)
    assert handoff_of(first)[0] == handoff_of(second)[0]
    assert Tenant.objects.filter(name=f"Org {word}").count() == 1
    # Someone else trying that address (without its password) only learns it is taken.
    third = client_for(settings.SAAS_BASE_DOMAIN).post("/signup/", {**data, "password": "another-pass-9876"})
    assert third.status_code == 400
    assert field_errors(third, "email") == ["An account with this email address already exists."]
