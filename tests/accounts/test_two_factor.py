"""Issue 17, part 3: two-factor with allauth MFA, through the public host's pages.

An authenticator app (codes made here with pyotp from the secret the setup page shows), its
recovery codes, and a security key's registration options (the full WebAuthn ceremony runs
in Chromium's virtual authenticator: tests/e2e/test_csp_browser.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.test import Client

from tests.accounts.conftest import client_for
from tests.conftest import handoff_of
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

SECRET = re.compile(
    r'id="authenticator_secret"[^>]*value="(?P<secret>[A-Z2-7]+)"|value="(?P<secret2>[A-Z2-7]+)"[^>]*id="authenticator_secret"'
)


def log_in(client: Client, email: str) -> Any:
    return client.post("/login/", {"login": email, "password": DEFAULT_PASSWORD})


def reauthenticate(client: Client, path: str) -> Any:
    """Changing two-factor asks for the password again first (allauth's reauthentication)."""
    asked = client.get(path)
    assert asked.status_code == 302 and asked["Location"].startswith("/reauthenticate/")
    confirmed = client.post(asked["Location"], {"password": DEFAULT_PASSWORD})
    assert confirmed.status_code == 302 and confirmed["Location"] == path
    return client.get(path)


def totp_activate(client: Client) -> pyotp.TOTP:
    """Set up the authenticator app as a person does: read the secret, type the current code."""
    page = reauthenticate(client, "/2fa/totp/activate/")
    assert page.status_code == 200
    found = SECRET.search(page.content.decode())
    assert found, "the setup page shows the secret"
    totp = pyotp.TOTP(found["secret"] or found["secret2"])
    done = client.post("/2fa/totp/activate/", {"code": totp.now()})
    assert done.status_code == 302, done.content.decode()[:2000]
    return totp


@pytest.fixture
def signed_in(tenant, member_of):
    user = member_of(tenant, role="owner")
    client = client_for(settings.SAAS_BASE_DOMAIN)
    assert log_in(client, user.email).status_code == 302
    return user, client


def test_the_security_page_leads_to_two_factor_setup(signed_in):
    _, client = signed_in
    page = client.get("/account/security/").content.decode()
    assert "Off: logging in asks for your password only." in page
    assert 'href="/2fa/"' in page
    index = client.get("/2fa/")
    assert index.status_code == 200
    assert "Authenticator App" in index.content.decode()


def test_the_security_page_lists_where_the_person_is_signed_in(signed_in, tenant):
    user, client = signed_in
    assert 'href="/sessions/"' in client.get("/account/security/").content.decode()
    sessions = client.get("/sessions/")
    assert sessions.status_code == 200
    assert sessions.content.decode().count("<tr") >= 2  # a header row and this session


def test_activating_the_authenticator_app_creates_recovery_codes(signed_in):
    user, client = signed_in
    totp_activate(client)
    kinds = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    assert kinds == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
    assert "On: logging in asks for a code" in client.get("/account/security/").content.decode()


def test_a_wrong_code_does_not_activate(signed_in):
    user, client = signed_in
    reauthenticate(client, "/2fa/totp/activate/")
    response = client.post("/2fa/totp/activate/", {"code": "000000"})
    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert not Authenticator.objects.filter(user=user).exists()


def test_login_asks_for_the_code_before_the_organization_opens(signed_in, tenant):
    user, client = signed_in
    totp = totp_activate(client)
    client.post("/logout/")

    browser = client_for(settings.SAAS_BASE_DOMAIN)
    first = log_in(browser, user.email)
    assert first.status_code == 302 and first["Location"] == "/2fa/authenticate/"
    assert browser.get("/orgs/").status_code == 302  # not signed in until the code is given
    wrong = browser.post("/2fa/authenticate/", {"code": "123456"})
    assert wrong.status_code == 200 and "Incorrect code." in wrong.content.decode()
    right = browser.post("/2fa/authenticate/", {"code": totp.now()}, follow=True)
    host, _ = handoff_of(right)
    assert host == tenant.domains.get(is_primary=True).domain


def test_a_recovery_code_signs_in_once(signed_in):
    user, client = signed_in
    totp_activate(client)
    codes_page = client.get("/2fa/recovery-codes/").content.decode()
    codes = (
        Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()
    )
    assert codes and codes[0] in codes_page
    client.post("/logout/")

    browser = client_for(settings.SAAS_BASE_DOMAIN)
    log_in(browser, user.email)
    assert browser.post("/2fa/authenticate/", {"code": codes[0]}).status_code == 302
    assert browser.get("/account/security/").status_code == 200
    browser.post("/logout/")

    again = client_for(settings.SAAS_BASE_DOMAIN)
    log_in(again, user.email)
    reused = again.post("/2fa/authenticate/", {"code": codes[0]})
    assert reused.status_code == 200 and "Incorrect code." in reused.content.decode()


def test_the_security_key_page_offers_registration_options_for_our_host(signed_in):
    user, client = signed_in
    page = reauthenticate(client, "/2fa/webauthn/add/")
    assert page.status_code == 200
    found = re.search(
        r'<script id="js_data" type="application/json">(.*?)</script>', page.content.decode(), re.S
    )
    assert found
    options = json.loads(found.group(1))["creation_options"]["publicKey"]
    assert options["rp"]["id"] == settings.SAAS_BASE_DOMAIN
    assert options["user"]["name"] == user.email
    assert options["challenge"]
