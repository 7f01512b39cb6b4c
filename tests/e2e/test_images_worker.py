"""Avatars and logos end to end: real uvicorn, a real Celery worker on the "images" queue,
a socket, headless Chromium (issue 13 part 3).

- A logo uploaded through the settings page shows the organization's initials; the worker,
  started only after the page is open, makes the thumbnails and the page shows the picture
  without a reload (`image.ready` on the tenant stream, live.js swaps the tile).
- An avatar uploaded through the API: the person's socket gets `image.ready` with the URLs,
  and the files the worker stored are squares of each size without EXIF.
- A 50 MB upload to the real servers (uvicorn and gunicorn) is a 413 before it is read.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import websockets
from PIL import Image
from websockets.typing import Origin

from accounts.models import User
from accounts.services import membership_create
from api.services import api_key_create
from images.models import SIZES, Avatar, Logo
from tenants.models import Tenant
from tenants.services import tenant_provision
from tests.e2e.browser import chromium, requires_chromium
from tests.e2e.support.client import BrowserClient
from tests.e2e.support.processes import CeleryWorker, WsgiServer, running
from tests.images.conftest import jpeg_with_gps

pytestmark = pytest.mark.e2e
PASSWORD = "owner-passphrase-long-and-odd-73"
# The thumbnails task is routed to this queue (images/tasks.py); the worker here consumes it
# beside this run's default queue, as the Procfile's worker consumes its queues.


@pytest.fixture
def media_root(tmp_path, settings) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def e2e_env_overrides(media_root) -> dict[str, str | None]:
    return {"MEDIA_ROOT": str(media_root)}


class _StartedByTheTest(CeleryWorker):
    """`running()` stops it at teardown (its log printed on failure); the test starts it (`go`)."""

    def start(self, **env_overrides: str | None) -> None:
        pass

    def go(self) -> None:
        super().start()


@pytest.fixture
def images_worker(e2e_env, request) -> Iterator[_StartedByTheTest]:
    """Not started: a test starts it when the page is ready to see the change arrive."""
    worker = _StartedByTheTest(dict(e2e_env), queue=e2e_env["CELERY_QUEUE"], concurrency=1)
    with running(worker, request):
        yield worker


def _organization(slug: str) -> tuple[Tenant, User]:
    tenant = tenant_provision(name="Pixel Works", slug=slug)
    owner = User.objects.create_user("owner@example.com", PASSWORD, full_name="Olive Owner")
    membership_create(user=owner, tenant=tenant, role="owner")
    return tenant, owner


@requires_chromium
def test_the_logo_appears_on_the_open_settings_page_when_the_worker_is_done(
    asgi_server, images_worker, media_root, tmp_path
):
    slug = f"pix{uuid.uuid4().hex[:8]}"
    tenant, _owner = _organization(slug)
    public = f"http://localhost:{asgi_server.port}"
    settings_page = f"http://{slug}.localhost:{asgi_server.port}/settings/"
    photo = tmp_path / "logo.jpg"
    photo.write_bytes(jpeg_with_gps())

    with chromium() as browser:
        context = browser.new_context()
        context.add_init_script(
            "window.__loads = (Number(sessionStorage.getItem('loads')) || 0) + 1;"
            "sessionStorage.setItem('loads', String(window.__loads)); window.__snapshots = [];"
            "document.addEventListener('live:snapshot', function () { window.__snapshots.push(1); });"
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{public}/login/")
        page.fill("input[name=login]", "owner@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(f"http://{slug}.localhost:{asgi_server.port}/")
        page.goto(settings_page)
        assert page.locator("#logo .image-placeholder").inner_text() == "PI"
        page.set_input_files("#logo input[type=file]", str(photo))
        page.click("#logo button[type=submit]")
        page.wait_for_url(settings_page)
        assert page.locator("#logo .image-placeholder").inner_text() == "PI"
        assert page.locator("#logo").inner_text().count("Processing the new image") == 1
        # A function, not an expression: Playwright evaluates a bare expression with eval, which the
        # CSP refuses (no 'unsafe-eval') whenever the first check is not already true.
        page.wait_for_function("() => window.__snapshots.length > 0")  # the socket is open
        loads = page.evaluate("window.__loads")

        images_worker.go()
        image = page.locator("#logo img")
        image.wait_for(timeout=30_000)
        src = image.get_attribute("src") or ""
        assert src.endswith("/128.webp") and (image.get_attribute("srcset") or "").endswith("/256.webp 2x")
        assert page.evaluate("window.__loads") == loads  # no reload: the message swapped it
        assert page.locator("#logo").inner_text().count("Processing the new image") == 0

    logo = Logo.objects.get(tenant=tenant)
    assert logo.ready_at is not None and src == f"/media/{logo.thumbnail_name(128)}"
    with Image.open(media_root / logo.thumbnail_name(128)) as thumbnail:
        assert thumbnail.size == (128, 128) and len(thumbnail.getexif()) == 0


def test_an_avatar_sent_to_the_api_reaches_the_socket_as_image_ready(asgi_server, images_worker, media_root):
    slug = f"ava{uuid.uuid4().hex[:8]}"
    tenant, owner = _organization(slug)
    _, key = api_key_create(tenant=tenant, actor=owner, name="uploads", scopes=["profile:write"])
    netloc = f"{slug}.localhost:{asgi_server.port}"
    browser = BrowserClient(asgi_server.port)
    browser.get(f"http://localhost:{asgi_server.port}/login/")
    landing = browser.post(
        f"http://localhost:{asgi_server.port}/login/", {"login": "owner@example.com", "password": PASSWORD}
    )
    assert urlsplit(landing.url).netloc == netloc, browser.history
    cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies[f"{slug}.localhost"].items())
    images_worker.go()

    async def body() -> tuple[int, dict]:
        async with websockets.connect(
            f"ws://{netloc}/ws/dashboard/",
            host="127.0.0.1",
            port=asgi_server.port,
            additional_headers={"Cookie": cookie},
            origin=Origin(f"http://{netloc}"),
            open_timeout=10,
        ) as connection:
            snapshot = json.loads(await asyncio.wait_for(connection.recv(), 10))
            assert snapshot["type"] == "snapshot"
            response = await asyncio.to_thread(
                requests.put,
                f"http://127.0.0.1:{asgi_server.port}/api/v1/me/avatar/",
                files={"image": ("me.jpg", jpeg_with_gps(), "image/jpeg")},
                headers={"Host": netloc, "Authorization": f"Bearer {key}"},
                timeout=15,
            )
            async with asyncio.timeout(30):
                while True:
                    frame = json.loads(await connection.recv())
                    if frame["type"] == "image.ready":
                        return response.status_code, frame

    status, ready = asyncio.run(body())
    assert status == 202
    avatar = Avatar.objects.get(user=owner)
    assert (ready["kind"], ready["owner_id"], ready["status"], ready["stream"]) == (
        "avatar",
        owner.pk,
        "ready",
        "user",
    )
    assert ready["thumbnails"] == {str(size): f"/media/{avatar.thumbnail_name(size)}" for size in SIZES}
    for size in SIZES:
        content = (media_root / avatar.thumbnail_name(size)).read_bytes()
        assert b"GPS" not in content and b"Exif" not in content
        with Image.open(io.BytesIO(content)) as thumbnail:
            assert thumbnail.size == (size, size)


@pytest.mark.parametrize("server_kind", ["uvicorn", "gunicorn"])
def test_a_50_mb_upload_to_the_real_servers_is_a_413_before_it_is_read(e2e_env, request, server_kind):
    from tests.e2e.support.processes import AsgiServer

    server = AsgiServer(dict(e2e_env)) if server_kind == "uvicorn" else WsgiServer(dict(e2e_env))
    with running(server, request):
        size = 50 * 1024 * 1024
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
            connection.sendall(
                (
                    "POST /account/profile/avatar/ HTTP/1.1\r\nHost: localhost\r\n"
                    "Content-Type: multipart/form-data; boundary=x\r\n"
                    f"Content-Length: {size}\r\n\r\n"
                ).encode()
            )
            connection.sendall(b"--x\r\n" + b"\x00" * 65536)  # a start; the rest is never sent
            received = b""
            while chunk := connection.recv(65536):  # the server closes after its answer
                received += chunk
            answer = received.decode(errors="replace")
    status_line, _, rest = answer.partition("\r\n")
    assert " 413 " in status_line, answer[:300]
    assert "too large" in rest.lower()
