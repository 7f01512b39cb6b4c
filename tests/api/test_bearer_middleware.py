"""Key requests skip the page middleware (api/middleware.py); everything else still has it."""

from __future__ import annotations

import json

from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import Client
from django.test.client import AsyncClientHandler

from activity.models import AuditEvent
from tests.api.conftest import Api
from tests.conftest import host_of


def test_a_key_request_leaves_the_session_alone_and_acts_as_the_keys_user(tenant, owner, member_of, make_key):
    # A browser session of another member rides along: the key decides, the session is never
    # loaded, saved or renewed.
    member = member_of(tenant, role="member")
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(member)
    session_before = client.cookies[settings.SESSION_COOKIE_NAME].value
    api = Api(host_of(tenant), make_key("projects:write"), client=client)

    created = api.post("/api/v1/projects/", {"name": "Made with a key"})

    assert created.status_code == 201, created.content
    assert created.json()["owner_id"] == owner.pk
    assert settings.SESSION_COOKIE_NAME not in created.cookies
    assert "Cookie" not in created.get("Vary", "")
    assert client.cookies[settings.SESSION_COOKIE_NAME].value == session_before
    event = AuditEvent.objects.get(action="project.created")
    assert event.actor_id == owner.pk


def test_a_browser_call_to_the_api_keeps_its_session_and_csrf(tenant, member_of):
    member = member_of(tenant, role="admin")
    client = Client(HTTP_HOST=host_of(tenant), enforce_csrf_checks=True)
    client.force_login(member)

    listed = client.get("/api/v1/projects/")
    refused = client.post("/api/v1/projects/", json.dumps({"name": "x"}), content_type="application/json")

    assert listed.status_code == 200
    assert "Cookie" in listed.get("Vary", "")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]


def test_a_bearer_header_on_a_page_does_not_skip_the_session(tenant, member_of):
    member = member_of(tenant, role="member")
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(member)

    page = client.get("/", headers={"Authorization": "Bearer sk_not_for_pages"})

    assert page.status_code == 200
    assert member.email.encode() in page.content


def test_a_key_request_through_the_asgi_handler(tenant, make_key):
    # The middleware chain in async mode (the ws role serves HTTP too): a passed-on request's
    # coroutine is awaited like the middleware's own. Django's AsyncClient always sends
    # `Host: testserver` first, so the scope is built here as an ASGI server builds it, for
    # Django's async test handler (which keeps the test's database connection open).
    host = host_of(tenant)
    key = make_key("projects:read")

    listed = async_to_sync(_asgi_get)(host, "/api/v1/projects/", key)
    anonymous = async_to_sync(_asgi_get)(host, "/api/v1/projects/", None)

    assert listed.status_code == 200, listed.content
    assert json.loads(listed.content)["results"] == []
    assert anonymous.status_code == 401


async def _asgi_get(host: str, path: str, key: str | None):
    headers = [(b"host", host.encode())]
    if key:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    return await AsyncClientHandler(enforce_csrf_checks=False)(scope)
