from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from api.redis_client import api_redis
from api.services import api_key_create
from api.verified_keys import verified_keys
from tests.conftest import host_of


@pytest.fixture(autouse=True)
def _fresh_api_counters():
    """Rate-limit counters, key generations and idempotency records of earlier tests (or runs)
    start over, and no key is remembered: tests that roll back never commit, so the on-commit
    replacement of a key generation (api/receivers.py) never runs for the keys they made."""
    client = api_redis()
    for key in client.scan_iter("api:*", count=1000):
        client.delete(key)
    verified_keys.clear()
    yield
    verified_keys.clear()


class Api:
    """A test client for one tenant host, speaking JSON, with an optional bearer key."""

    def __init__(self, host: str, key: str | None = None, client: Client | None = None) -> None:
        self.client = client or Client(HTTP_HOST=host)
        self.key = key

    def _headers(self, headers: dict[str, str]) -> dict[str, str]:
        if self.key:
            headers = {"Authorization": f"Bearer {self.key}", **headers}
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str):
        return self.client.get(path, params or {}, headers=self._headers(headers))

    def send(self, method: str, path: str, body: Any = None, *, raw: Any = None, **headers: Any):
        content_type = headers.pop("content_type", "application/json")
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return getattr(self.client, method)(
            path, data, content_type=content_type, headers=self._headers(headers)
        )

    def post(self, path: str, body: Any = None, **headers: Any):
        return self.send("post", path, body, **headers)

    def patch(self, path: str, body: Any = None, **headers: Any):
        return self.send("patch", path, body, **headers)

    def delete(self, path: str, **headers: Any):
        return self.send("delete", path, None, **headers)


@pytest.fixture
def owner(tenant, member_of):
    return member_of(tenant, role="owner")


@pytest.fixture
def make_key(owner, tenant):
    def make(*scopes: str, actor=None, tenant_=None, expires_at=None) -> str:
        _, secret = api_key_create(
            tenant=tenant_ or tenant,
            actor=actor or owner,
            name="test key",
            scopes=scopes or ["projects:write"],
            expires_at=expires_at,
        )
        return secret

    return make


@pytest.fixture
def api(tenant, make_key) -> Api:
    """The tenant's API with a key that may write every resource (made by an owner)."""
    return Api(
        host_of(tenant),
        make_key(
            "members:read", "invitations:write", "projects:write", "notifications:write", "billing:read"
        ),
    )


def problem_of(response) -> dict[str, Any]:
    assert response["Content-Type"] == "application/problem+json", (response.status_code, response.content)
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"] == f"urn:saas:problem:{body['code']}"
    return body


def soon() -> Any:
    return timezone.now() + timedelta(days=1)
