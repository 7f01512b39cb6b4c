import itertools
import random
import uuid

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import host_of

# Random start: rate-limit counters live in Redis and outlast a test run.
_addresses = itertools.count(random.randrange(1, 2**24 - 100_000))
STRONG_PASSWORD = "plum-orbit-lantern-97"


def client_for(host: str) -> Client:
    """A test client for one host; sessions are per host, as in a browser."""
    # Each client has its own IP so allauth's per-IP sign-up limit does not leak across tests.
    n = next(_addresses)
    return Client(HTTP_HOST=host, REMOTE_ADDR=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}")


@pytest.fixture
def public_browser(db) -> Client:
    return client_for(settings.SAAS_BASE_DOMAIN)


@pytest.fixture
def unique():
    """A short unique word for emails and subdomains (tables are shared across test runs)."""
    return lambda prefix="x": f"{prefix}{uuid.uuid4().hex[:8]}"


def signup_data(unique_word: str, **overrides: str) -> dict[str, str]:
    data = {
        "email": f"{unique_word}@example.com",
        "password": STRONG_PASSWORD,
        "organization_name": f"Org {unique_word}",
        "subdomain": "",
        "website": "",
    }
    data.update(overrides)
    return data


__all__ = ["client_for", "host_of", "signup_data", "STRONG_PASSWORD"]
