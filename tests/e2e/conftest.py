"""End-to-end fixtures: real processes and real outside parties, all on loopback.

- `smtp_server`: an aiosmtpd server collecting parsed messages; can stop and start again on
  the same port (SMTP down, then back) and can answer DATA slowly (a worker killed mid-send).
- `http_sink`: an HTTP server recording POSTed JSON (Slack, analytics); paths can answer 500.
- `e2e_env`: the environment of the processes below (test database, Redis, SMTP, sinks,
  short retries, this run's Celery queue, the live server's port). A test module can add to
  it by defining a fixture `e2e_env_overrides` returning a dict (a value None removes a name).
- `asgi_server` (`live_server_url`): uvicorn serving config.asgi, as the Procfile runs it.
- `celery_worker`: a prefork worker on this run's queue; `.kill()` sends SIGKILL to the whole
  worker, `.start()` starts a fresh one.
- `browser_client`: a tiny HTTP client that reaches `*.localhost` hosts (which Python cannot
  resolve) by connecting to 127.0.0.1 and sending the Host header, with cookies per host.

Every wait is bounded and every process is stopped at teardown. The tests need
`transactional_db` (requested by `e2e_env`): rows must be committed for other processes to
see them. Tenant schemas created during a test are dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
import redis
import requests
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def wait_until(
    predicate: Callable[[], Any], *, timeout: float, interval: float = 0.05, message: str = "condition"
) -> Any:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.1f}s waiting for {message}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- SMTP -------------------------------------------------------------------------------


class _Collector:
    """aiosmtpd handler: keeps each message the client saw accepted."""

    def __init__(self, sink: SmtpServer) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.sink.data_started += 1
        # Like a real MTA, a message whose client goes away before our "250" is not accepted:
        # aiosmtpd cancels this handler when the connection drops.
        try:
            deadline = time.monotonic() + self.sink.delay
            while time.monotonic() < deadline and self.sink.delay:
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            self.sink.abandoned += 1
            raise
        transport = getattr(server, "transport", None)
        if transport is None or transport.is_closing():
            self.sink.abandoned += 1
            return "451 Client went away"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(message)  # type: ignore[arg-type]
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on 127.0.0.1; `.stop()` / `.start()` keep the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.delay = 0.0  # seconds before answering DATA
        self.data_started = 0
        self.abandoned = 0
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is None:
            controller = Controller(_Collector(self), hostname="127.0.0.1", port=self.port, ready_timeout=10)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        """Wait (bounded) until at least `count` messages arrived; returns them all."""
        wait_until(
            lambda: len(self.messages) >= count,
            timeout=timeout,
            message=f"{count} email(s) at the SMTP server (got {len(self.messages)})",
        )
        return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


# --- HTTP sink ----------------------------------------------------------------------------


class HttpSink:
    """Records POSTed JSON per path; paths in `.failing` answer 500."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any, bool]] = []  # path, body, answered 500
        self.failing: set[str] = set()
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode(errors="replace")
                path = self.path
                failing = path in sink.failing
                with sink.lock:
                    sink.requests.append((path, body, failing))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"fail" if failing else b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str, *, accepted_only: bool = True) -> list[Any]:
        with self.lock:
            return [b for p, b, failed in self.requests if p == path and not (accepted_only and failed)]

    def attempts(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _, _ in self.requests if p == path)

    def wait_for(
        self, path: str, count: int = 1, timeout: float = 15.0, accepted_only: bool = True
    ) -> list[Any]:
        if accepted_only:
            wait_until(
                lambda: len(self.received(path)) >= count,
                timeout=timeout,
                message=f"{count} accepted POST(s) to {path}",
            )
            return self.received(path)
        wait_until(
            lambda: self.attempts(path) >= count,
            timeout=timeout,
            message=f"{count} POST attempt(s) to {path}",
        )
        return self.received(path, accepted_only=False)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    sink = HttpSink()
    yield sink
    sink.close()


# --- Environment of the subprocesses ------------------------------------------------------


def _database_url() -> str:
    db = connection.settings_dict  # pytest-django has switched NAME to the test database
    user = quote(db.get("USER") or "postgres", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{db['NAME']}"


@pytest.fixture
def e2e_env_overrides() -> dict[str, str | None]:
    """Override in a test module to add or remove (None) variables for the processes."""
    return {}


@pytest.fixture
def e2e_queue() -> Iterator[str]:
    """The Celery queue of this test process; emptied before and after each test."""
    queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    # Messages left by an interrupted earlier run would point at rows that no longer exist.
    client.delete(queue, "unacked", "unacked_index")
    yield queue
    client.delete(queue, "unacked", "unacked_index")
    client.close()


@pytest.fixture
def e2e_env(
    transactional_db, drop_new_tenant_schemas, smtp_server, http_sink, e2e_queue, e2e_env_overrides
) -> dict[str, str]:
    web_port = free_port()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "SAAS_ENVIRONMENT": "test",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_QUEUE": e2e_queue,
        "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", "saas"),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "SLACK_WEBHOOK_URL": http_sink.url("/slack"),
        "ANALYTICS_URL": http_sink.url("/analytics"),
        "TASK_RETRY_BACKOFF_SECONDS": "1",
        "TASK_RETRY_BACKOFF_MAX_SECONDS": "2",
        "TASK_RETRY_DEADLINE_SECONDS": "60",
        "OUTBOUND_HTTP_TIMEOUT_SECONDS": "3",
        "SAAS_BASE_DOMAIN": settings.SAAS_BASE_DOMAIN,
        "SAAS_PUBLIC_PORT": str(web_port),
        "E2E_WEB_PORT": str(web_port),
        # Under ASGI a persistent connection per request thread piles up until PostgreSQL
        # (shared by parallel test runs) refuses clients; tests favour fewer connections.
        "CONN_MAX_AGE": "0",
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "console",
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for name, value in e2e_env_overrides.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


# --- Processes ----------------------------------------------------------------------------


class ManagedProcess:
    """A subprocess in its own process group, its output in a log file shown on failure."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix=f"e2e-{name}-", suffix=".log")[1])
        self.generations = 0

    def start(self, **env_overrides: str | None) -> None:
        """Start (again); keyword arguments change this process's environment from now on."""
        for key, value in env_overrides.items():
            if value is None:
                self.env.pop(key, None)
            else:
                self.env[key] = value
        assert self.process is None or self.process.poll() is not None, f"{self.name} already runs"
        self.generations += 1
        log = self.log_path.open("ab")
        log.write(f"\n===== start #{self.generations}: {' '.join(self.command)}\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            self.command,
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _signal_group(self, sig: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group (main process and pool children): no cleanup."""
        self._signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        if not self.running():
            self._signal_group(signal.SIGKILL)  # children of a dead parent
            return
        assert self.process is not None
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait(timeout=5)
        self._signal_group(signal.SIGKILL)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


class AsgiServer(ManagedProcess):
    def __init__(self, env: dict[str, str]) -> None:
        self.port = int(env["E2E_WEB_PORT"])
        super().__init__(
            "uvicorn",
            [
                str(VENV_BIN / "uvicorn"),
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--no-access-log",
                "--lifespan",
                "off",
            ],
            # Pooled connections, as the Procfile's web role runs.
            {**env, "DB_POOL_MAX_SIZE": "4"},
        )

    @property
    def url(self) -> str:
        """The public site as a browser sees it (`http://localhost:<port>`)."""
        return f"http://{settings.SAAS_BASE_DOMAIN}:{self.port}"

    def start(self, **env_overrides: str | None) -> None:
        super().start(**env_overrides)

        def healthy() -> bool:
            if not self.running():
                raise AssertionError(f"uvicorn exited:\n{self.log_tail()}")
            try:
                return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).ok
            except requests.ConnectionError:
                return False

        wait_until(healthy, timeout=30, interval=0.1, message="uvicorn /healthz")


class CeleryWorker(ManagedProcess):
    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(
            "celery-worker",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "-Q",
                env["CELERY_QUEUE"],
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"e2e-{uuid.uuid4().hex[:8]}@%h",
            ],
            env,
        )

    def start(self, **env_overrides: str | None) -> None:
        offset = len(self.log())
        super().start(**env_overrides)

        def ready() -> bool:
            if not self.running():
                raise AssertionError(f"celery worker exited:\n{self.log_tail()}")
            return " ready." in self.log()[offset:]

        wait_until(ready, timeout=45, interval=0.1, message="the Celery worker to be ready")


def _report(request: pytest.FixtureRequest, process: ManagedProcess) -> None:
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        sys.stderr.write(f"\n----- {process.name} log ({process.log_path}) -----\n{process.log_tail(120)}\n")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def asgi_server(e2e_env, request) -> Iterator[AsgiServer]:
    server = AsgiServer(dict(e2e_env))
    try:
        server.start()
        yield server
    finally:
        server.stop()
        _report(request, server)


@pytest.fixture
def live_server_url(asgi_server) -> str:
    return asgi_server.url


@pytest.fixture
def celery_worker(e2e_env, request) -> Iterator[CeleryWorker]:
    worker = CeleryWorker(dict(e2e_env))
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()
        _report(request, worker)


# --- A client for *.localhost hosts ---------------------------------------------------------


class BrowserClient:
    """Follows redirects across `localhost` and `<slug>.localhost`, one cookie jar per host.

    Every request goes to 127.0.0.1:<port> with the URL's host in the Host header, which is
    what a browser resolving `*.localhost` to loopback does.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, dict[str, str]] = {}
        self.session = requests.Session()
        self.history: list[str] = []

    def request(
        self,
        method: str,
        url: str,
        *,
        data: dict[str, str] | None = None,
        follow: bool = True,
        max_redirects: int = 10,
        timeout: float = 15.0,
    ) -> requests.Response:
        self.history = []
        for _ in range(max_redirects + 1):
            parts = urlsplit(url)
            host = parts.hostname or ""
            jar = self.cookies.setdefault(host, {})
            headers = {"Host": parts.netloc}
            if method == "POST":
                headers["Origin"] = f"{parts.scheme}://{parts.netloc}"
                headers["Referer"] = url
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            response = self.session.request(
                method,
                f"http://127.0.0.1:{self.port}{path}",
                data=data,
                headers=headers,
                cookies=dict(jar),
                allow_redirects=False,
                timeout=timeout,
            )
            self.session.cookies.clear()
            for cookie in response.cookies:
                if cookie.value == "" or (cookie.expires is not None and cookie.expires < time.time()):
                    jar.pop(cookie.name, None)
                else:
                    jar[cookie.name] = cookie.value or ""
            response.url = url  # type: ignore[misc]
            self.history.append(f"{response.status_code} {method} {url}")
            if not follow or response.status_code not in (301, 302, 303, 307, 308):
                return response
            url = urljoin(url, response.headers["Location"])
            if response.status_code in (301, 302, 303):
                method, data = "GET", None
        raise AssertionError(f"Too many redirects: {self.history}")

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, data: dict[str, str], **kwargs: Any) -> requests.Response:
        """POST a form, with the CSRF token from the cookie this host gave us."""
        host = urlsplit(url).hostname or ""
        token = self.cookies.get(host, {}).get("csrftoken")
        if token and "csrfmiddlewaretoken" not in data:
            data = {**data, "csrfmiddlewaretoken": token}
        return self.request("POST", url, data=data, **kwargs)


@pytest.fixture
def browser_client(asgi_server) -> BrowserClient:
    return BrowserClient(asgi_server.port)
