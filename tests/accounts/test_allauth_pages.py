"""allauth's pages (password reset, logout) work on the public host, in the product's layout."""

import re

import pytest
from django.conf import settings
from django.core import mail

from tests.accounts.conftest import client_for

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quartz-meadow-signal-58"


def test_password_reset_by_email(user):
    browser = client_for(settings.SAAS_BASE_DOMAIN)
    page = browser.get("/password/reset/")
    assert page.status_code == 200 and "saas/app.css" in page.content.decode()
    assert browser.post("/password/reset/", {"email": user.email.upper()}).status_code == 302
    assert [m.to for m in mail.outbox] == [[user.email]]
    link = re.search(r"http://localhost(?::\d+)?(/password/reset/key/\S+/)", str(mail.outbox[0].body))
    assert link, mail.outbox[0].body
    form = browser.get(link.group(1), follow=True)
    assert form.status_code == 200
    done = browser.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link.group(1),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_reset_refuses_a_weak_password(user):
    browser = client_for(settings.SAAS_BASE_DOMAIN)
    browser.post("/password/reset/", {"email": user.email})
    link = re.search(r"http://localhost(?::\d+)?(/password/reset/key/\S+/)", str(mail.outbox[0].body))
    assert link
    form = browser.get(link.group(1), follow=True)
    response = browser.post(form.redirect_chain[-1][0], {"password1": "12345678", "password2": "12345678"})
    assert response.status_code == 200
    assert "This password is entirely numeric." in response.content.decode()


def test_logout_on_the_public_host(user):
    browser = client_for(settings.SAAS_BASE_DOMAIN)
    browser.force_login(user)
    assert browser.post("/logout/").status_code == 302
    assert browser.get("/orgs/").status_code == 302
