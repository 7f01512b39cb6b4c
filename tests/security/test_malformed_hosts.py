"""Malformed Host headers through the real servers (gunicorn and uvicorn, as the Procfile runs
them), over raw sockets so nothing in between tidies the header: each is refused early with a
4xx (the servers' own 400, or the unknown-host 404 page), never a 5xx nor a traceback.
In-process resolution of such hosts is tests/tenants/test_resolution.py."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from devtools.processes import ManagedProcess
from tests.e2e.support.processes import AsgiServer, WsgiServer, running

pytestmark = pytest.mark.e2e

HOSTS = [
    b"bad host", b"a" * 300, b"[::1", b"localhost:abc", b"", b"evil.example.com@localhost",
    b"..localhost", b"x_y.localhost", b"localhost\x00.evil", b"\xff\xfe.localhost", b"*.localhost",
    b"localhost, evil.example.com", b"%2e%2e.localhost", b"-a-.localhost", b"xn--.localhost",
    b"127.0.0.1:1:2",
]  # fmt: skip
# Odd but naming the public host (a fully qualified name, any case; Django reads any digits as
# a port): served like it, and never a 5xx.
SAME_AS_PUBLIC = [b"LOCALHOST.", b"localhost:99999"]


@pytest.fixture(params=["gunicorn", "uvicorn"])
def server(request, e2e_env) -> Iterator[ManagedProcess]:
    process = WsgiServer(dict(e2e_env)) if request.param == "gunicorn" else AsgiServer(dict(e2e_env))
    with running(process, request) as started:
        yield started


def status_of(port: int, host: bytes, *, twice: bool = False) -> int:
    headers = b"Host: " + host + b"\r\n"
    if twice:
        headers += b"Host: localhost\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\n" + headers + b"Connection: close\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    assert b"Traceback" not in answer
    return int(answer.split(b" ", 2)[1])


def test_malformed_hosts_are_refused_with_a_4xx(server):
    statuses = {host: status_of(server.port, host) for host in HOSTS}
    statuses[b"duplicate"] = status_of(server.port, b"localhost", twice=True)
    bad = {host: status for host, status in statuses.items() if not 400 <= status < 500}
    assert bad == {}, bad
    for host in SAME_AS_PUBLIC:
        assert status_of(server.port, host) in (200, 400), host
    assert "Traceback" not in server.log()
    print(f"\nmalformed hosts ({server.name}): {sorted(set(statuses.values()))} for {len(statuses)} hosts")
