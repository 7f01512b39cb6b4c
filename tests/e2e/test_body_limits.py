"""Oversized request bodies are refused before they are read (issue 9, item 10), under uvicorn
(config.asgi, as the Procfile runs it) and gunicorn (config.wsgi), spoken to over raw sockets:
a declared 200 MB body to an unknown host is answered 413 at once, a chunked body is cut off
with a 413 as soon as it passes the limit, and each refusal is a warning line, not a traceback.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests

from devtools.processes import VENV_BIN, ManagedProcess, wait_until
from tests.e2e.support.processes import AsgiServer

pytestmark = pytest.mark.e2e

LIMIT = 1024 * 1024  # the servers below run with this limit
DECLARED = 200 * 1024 * 1024


@pytest.fixture
def e2e_env_overrides() -> dict[str, str | None]:
    return {"REQUEST_BODY_MAX_BYTES": str(LIMIT)}


class GunicornServer(ManagedProcess):
    def __init__(self, env: dict[str, str]) -> None:
        self.port = int(env["E2E_WEB_PORT"])
        command = [str(VENV_BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}"]
        super().__init__("gunicorn", [*command, "--workers", "1", "--timeout", "30"], env)

    def start(self, **env_overrides: str | None) -> None:
        super().start(**env_overrides)

        def healthy() -> bool:
            if not self.running():
                raise AssertionError(f"gunicorn exited:\n{self.log_tail()}")
            try:
                return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).ok
            except requests.RequestException:  # refused, or accepted while the worker boots
                return False

        wait_until(healthy, timeout=30, interval=0.1, message="gunicorn /healthz")


@pytest.fixture(params=["uvicorn", "gunicorn"])
def server(request, e2e_env) -> Iterator[ManagedProcess]:
    process: ManagedProcess = (
        AsgiServer(dict(e2e_env)) if request.param == "uvicorn" else GunicornServer(dict(e2e_env))
    )
    try:
        process.start()
        yield process
    finally:
        process.stop()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(f"----- {process.name} log -----\n{process.log_tail(80)}")


def connect(server: ManagedProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)  # type: ignore[attr-defined]
    sock.settimeout(5)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by the timeout)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:  # closed with our unread bytes still in its buffer
        pass
    return data


def assert_refused_with_a_warning(server: ManagedProcess) -> None:
    log = wait_until(
        lambda: server.log() if "request body too large" in server.log() else "",
        timeout=5,
        message="the refusal's log line",
    )
    assert "Traceback" not in log
    assert "warning" in log.lower()


def test_a_declared_200_mb_body_to_an_unknown_host_is_refused_at_once(server):
    sock = connect(server)
    started = time.monotonic()
    sock.sendall(
        b"POST /billing/webhook/ HTTP/1.1\r\nHost: nobody.example.com\r\n"
        b"Content-Type: application/json\r\n" + f"Content-Length: {DECLARED}\r\n\r\n".encode() + b"{" * 16384
    )

    answer = read_until_closed(sock)
    sock.close()

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 3
    assert_refused_with_a_warning(server)


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(server):
    sock = connect(server)
    host = f"localhost:{server.port}".encode()
    sock.sendall(
        b"POST /billing/webhook/ HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    # 64 KiB chunks, past the limit (a client that meant to send 200 MB), until the server
    # stops taking them or we have sent a quarter of the limit more.
    sent, piece = 0, 64 * 1024
    try:
        while sent < LIMIT + LIMIT // 4:
            sock.sendall(f"{piece:x}\r\n".encode() + b"x" * piece + b"\r\n")
            sent += piece
    except (BrokenPipeError, ConnectionResetError):
        pass

    answer = read_until_closed(sock)
    sock.close()

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert_refused_with_a_warning(server)


def test_bodies_within_the_limit_still_reach_the_application(server):
    base = f"http://127.0.0.1:{server.port}"
    headers = {"Host": f"localhost:{server.port}", "Content-Type": "application/json"}

    declared = requests.post(f"{base}/billing/webhook/", data=b"{" * (LIMIT - 1), headers=headers, timeout=10)
    chunked = requests.post(
        f"{base}/billing/webhook/", data=iter([b"{" * 1000, b"}" * 1000]), headers=headers, timeout=10
    )

    # The webhook answers for itself (no Stripe secret in these processes: 503), not the limit.
    assert (declared.status_code, chunked.status_code) == (503, 503)
    assert "request body too large" not in server.log()
