"""Review item 9: emailed URLs come from SAAS_BASE_DOMAIN, never from the request's Host."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from saas.hosts import public_url
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("host", ["www.localhost:9999", "localhost:1", "WWW.LOCALHOST"])
def test_password_reset_link_uses_the_configured_public_host(host, unique_email):
    user = UserFactory(email=unique_email)
    response = Client(HTTP_HOST=host).post("/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    body = str(mail.outbox[0].body)
    links = re.findall(r"https?://\S+", body)
    assert links, body
    assert all(link.startswith(public_url("/")) for link in links), links
    assert "www." not in body.lower() and ":9999" not in body and "localhost:1/" not in body
    assert f"Hello from {settings.SAAS_SITE_NAME}" in body
    assert mail.outbox[0].subject.startswith(f"[{settings.SAAS_SITE_NAME}] ")


def test_unknown_address_mail_also_points_at_the_public_host(unique_email, settings):
    settings.ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = True
    Client(HTTP_HOST="www.localhost:9999").post("/password/reset/", {"email": unique_email})
    links = [link for message in mail.outbox for link in re.findall(r"https?://\S+", str(message.body))]
    assert all(link.startswith(public_url("/")) for link in links), links


@pytest.fixture
def unique_email():
    import uuid

    return f"reset-{uuid.uuid4().hex[:10]}@example.com"
