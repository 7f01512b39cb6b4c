"""The live dashboard through production's servers: pages on gunicorn, sockets on uvicorn.

The owner logs in over HTTP (gunicorn, the `web` role) and opens /ws/dashboard/ on the `ws`
role with the session cookie the pages gave them, the Host and Origin a browser sends (the
load balancer routes `/ws/` by path and keeps the Host). A newcomer accepts an invitation
over HTTP; the owner's socket sees `membership.changed` and the new unread count.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from urllib.parse import urlsplit

import pytest
import websockets
from websockets.typing import Origin

from accounts.models import User
from accounts.services import membership_create
from invitations.services import invitation_create
from invitations.tokens import token_for_salt
from tenants.services import tenant_provision
from tests.conftest import on_plan
from tests.e2e.support.client import BrowserClient

pytestmark = pytest.mark.e2e
OWNER_PASSWORD = "owner-passphrase-long-and-odd-73"
NEW_PASSWORD = "newcomer-passphrase-long-and-odd-58"


async def frames_until(connection, kind: str, *, timeout: float) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await connection.recv())
            if frame["type"] == kind:
                return frame


def test_a_socket_with_a_real_session_sees_an_invitation_accepted_over_http(
    e2e_env, wsgi_server, sockets_server, celery_worker
):
    slug = f"live{uuid.uuid4().hex[:8]}"
    tenant = tenant_provision(name="Acme Live", slug=slug)
    on_plan(tenant, "pro")
    owner = User.objects.create_user("owner@example.com", OWNER_PASSWORD, full_name="Olive Owner")
    membership_create(user=owner, tenant=tenant, role="owner")
    invitation = invitation_create(tenant=tenant, inviter=owner, email="nina@example.com", role="member")
    link_path = f"/invitations/{token_for_salt(invitation.token_salt)}/"

    public = f"http://localhost:{wsgi_server.port}"
    tenant_netloc = f"{slug}.localhost:{wsgi_server.port}"
    owner_browser = BrowserClient(wsgi_server.port)
    owner_browser.get(f"{public}/login/")
    landing = owner_browser.post(
        f"{public}/login/", {"login": "owner@example.com", "password": OWNER_PASSWORD}
    )
    assert urlsplit(landing.url).netloc == tenant_netloc, owner_browser.history
    cookie = "; ".join(f"{k}={v}" for k, v in owner_browser.cookies[f"{slug}.localhost"].items())

    async def body():
        async with websockets.connect(
            f"ws://{tenant_netloc}/ws/dashboard/",  # the Host a browser sends (the pages' host)
            host="127.0.0.1",  # where the load balancer's /ws/ rule sends it
            port=sockets_server.port,
            additional_headers={"Cookie": cookie},
            origin=Origin(f"http://{tenant_netloc}"),
            open_timeout=10,
        ) as connection:
            snapshot = json.loads(await asyncio.wait_for(connection.recv(), 10))
            newcomer = BrowserClient(wsgi_server.port)
            page = await asyncio.to_thread(newcomer.get, f"{public}{link_path}")
            assert page.status_code == 200
            accepted = await asyncio.to_thread(
                newcomer.post,
                f"{public}{link_path}",
                {"action": "signup", "password": NEW_PASSWORD, "full_name": "Nina Newcomer"},
            )
            assert accepted.status_code == 200, newcomer.history
            changed = await frames_until(connection, "membership.changed", timeout=15)
            count = await frames_until(connection, "notifications.count", timeout=15)
            return snapshot, changed, count

    snapshot, changed, count = asyncio.run(body())
    assert [m["email"] for m in snapshot["members"]] == ["owner@example.com"]
    assert (changed["change"], changed["member"]["name"], changed["seq"]) == ("joined", "Nina Newcomer", 1)
    assert count["unread"] == 1


def test_a_socket_without_a_session_is_closed_as_anonymous(e2e_env, sockets_server):
    slug = f"anon{uuid.uuid4().hex[:8]}"
    tenant_provision(name="Acme Anon", slug=slug)
    netloc = f"{slug}.localhost:{sockets_server.port}"

    async def body():
        async with websockets.connect(
            f"ws://{netloc}/ws/dashboard/",
            host="127.0.0.1",
            port=sockets_server.port,
            origin=Origin(f"http://{netloc}"),
            open_timeout=10,
        ) as connection:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(connection.recv(), 10)
            assert closed.value.rcvd is not None
            return closed.value.rcvd.code

    assert asyncio.run(body()) == 4401
