"""End-to-end fixtures: real processes and real outside parties, all on loopback.

- `smtp_server`: an aiosmtpd server collecting parsed messages; can stop and start again on
  the same port (SMTP down, then back) and can answer DATA slowly (a worker killed mid-send).
- `http_sink`: an HTTP server recording POSTed JSON (Slack, analytics); paths can answer 500.
- `e2e_env`: the environment of the processes below (test database, Redis, SMTP, sinks,
  short retries, this run's Celery queue, the live server's port). A test module can add to
  it by defining a fixture `e2e_env_overrides` returning a dict (a value None removes a name).
- `asgi_server` (`live_server_url`): the Procfile's `ws` role (uvicorn serving config.asgi:
  pages and sockets on one port, as `make dev` runs it).
- `wsgi_server` + `sockets_server`: production's split: the `web` role (gunicorn) serving
  pages on E2E_WEB_PORT and the `ws` role on a port of its own, reached with the pages'
  Host header as the load balancer's `/ws/` path rule does.
- `celery_worker`: a prefork worker on this run's queue, as the Procfile runs it; `.kill()`
  sends SIGKILL to the whole worker, `.start()` starts a fresh one.
- `browser_client`: a tiny HTTP client that reaches `*.localhost` hosts (which Python cannot
  resolve) by connecting to 127.0.0.1 and sending the Host header, with cookies per host.

What they are made of lives in tests/e2e/support/. Every wait is bounded and every process is
stopped at teardown. The tests need `transactional_db` (requested by `e2e_env`): rows must be
committed for other processes to see them. Tenant schemas created during a test are dropped
afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from devtools.processes import free_port
from saas.queues import queue_names
from tests.e2e.support.client import BrowserClient
from tests.e2e.support.http_sink import HttpSink
from tests.e2e.support.processes import AsgiServer, CeleryWorker, WsgiServer, e2e_environment, running
from tests.e2e.support.smtp import SmtpServer


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    sink = HttpSink()
    yield sink
    sink.close()


@pytest.fixture
def e2e_env_overrides() -> dict[str, str | None]:
    """Override in a test module to add or remove (None) variables for the processes."""
    return {}


@pytest.fixture
def e2e_queue() -> Iterator[str]:
    """The Celery queue prefix of this test process (CELERY_QUEUE); its queues are emptied
    before and after each test."""
    prefix = settings.CELERY_QUEUE_PREFIX
    queues = queue_names(prefix=prefix)
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    # Messages left by an interrupted earlier run would point at rows that no longer exist.
    client.delete(*queues, "unacked", "unacked_index")
    yield prefix
    client.delete(*queues, "unacked", "unacked_index")
    client.close()


@pytest.fixture
def e2e_env(
    transactional_db, drop_new_tenant_schemas, smtp_server, http_sink, e2e_queue, e2e_env_overrides
) -> dict[str, str]:
    environment = e2e_environment(
        smtp_port=smtp_server.port,
        slack_url=http_sink.url("/slack"),
        analytics_url=http_sink.url("/analytics"),
        queue=e2e_queue,
        web_port=free_port(),
    )
    for name, value in e2e_env_overrides.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def asgi_server(e2e_env, request) -> Iterator[AsgiServer]:
    with running(AsgiServer(dict(e2e_env)), request) as server:
        yield server


@pytest.fixture
def wsgi_server(e2e_env, request) -> Iterator[WsgiServer]:
    with running(WsgiServer(dict(e2e_env)), request) as server:
        yield server


@pytest.fixture
def sockets_server(e2e_env, request) -> Iterator[AsgiServer]:
    with running(AsgiServer(dict(e2e_env), port=free_port()), request) as server:
        yield server


@pytest.fixture
def live_server_url(asgi_server) -> str:
    return asgi_server.url


@pytest.fixture
def celery_worker(e2e_env, request) -> Iterator[CeleryWorker]:
    with running(
        CeleryWorker(dict(e2e_env), queue=e2e_env["CELERY_QUEUE"], concurrency=1), request
    ) as worker:
        yield worker


@pytest.fixture
def browser_client(asgi_server) -> BrowserClient:
    return BrowserClient(asgi_server.port)
