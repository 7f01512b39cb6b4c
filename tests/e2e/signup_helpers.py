"""Shared steps of the end-to-end sign-up tests."""

import re
import uuid
from urllib.parse import urlsplit

from django.conf import settings

from tests.e2e.support.client import BrowserClient

PASSWORD = "plum-orbit-lantern-97"


def new_identity(prefix: str = "e2e") -> tuple[str, str]:
    word = f"{prefix}{uuid.uuid4().hex[:8]}"
    return f"{word}@example.com", word


def sign_up_through_the_form(
    browser: BrowserClient, base_url: str, *, email: str, subdomain: str, organization_name: str | None = None
):
    """GET /signup/, POST it, follow every redirect; returns the last response."""
    page = browser.get(f"{base_url}/signup/")
    assert page.status_code == 200, page.text[:500]
    return browser.post(
        f"{base_url}/signup/",
        {
            "email": email,
            "password": PASSWORD,
            "organization_name": organization_name or f"Org {subdomain}",
            "subdomain": subdomain,
            "website": "",
        },
    )


def assert_on_dashboard(response, *, subdomain: str, email: str, port: int) -> None:
    assert response.status_code == 200, (response.status_code, response.text[:800])
    final = urlsplit(response.url)
    assert (final.hostname, final.port, final.path) == (f"{subdomain}.{settings.SAAS_BASE_DOMAIN}", port, "/")
    assert email in response.text  # shown as the logged-in user
    assert re.search(r"Members", response.text)
