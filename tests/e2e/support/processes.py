"""The project's processes as the end-to-end tests run them, and the environment they share.

The processes are the Procfile's roles (devtools.processes), on this test's database, Redis,
queue, SMTP server and HTTP sink, with retries shortened so failures show within a test.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TypeVar
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from devtools.processes import VENV_BIN, CeleryWorker, ManagedProcess, WebServer

__all__ = ["AsgiServer", "CeleryWorker", "WsgiServer", "e2e_environment", "running"]

P = TypeVar("P", bound=ManagedProcess)


def _database_url() -> str:
    db = connection.settings_dict  # pytest-django has switched NAME to the test database
    user = quote(db.get("USER") or "postgres", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{db['NAME']}"


def e2e_environment(
    *, smtp_port: int, slack_url: str, analytics_url: str, queue: str, web_port: int
) -> dict[str, str]:
    """The variables of every process a test starts."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "SAAS_ENVIRONMENT": "test",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_QUEUE": queue,
        "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", "saas"),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SLACK_WEBHOOK_URL": slack_url,
        "ANALYTICS_URL": analytics_url,
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


class _E2EServer(WebServer):
    @property
    def url(self) -> str:
        """The public site as a browser sees it (`http://localhost:<port>`)."""
        return f"http://{settings.SAAS_BASE_DOMAIN}:{self.port}"


class AsgiServer(_E2EServer):
    """The Procfile's ws role (uvicorn; pages and sockets, as `make dev` runs it), one worker,
    a small pool, on the port in the environment."""

    def __init__(self, env: dict[str, str], *, port: int | None = None) -> None:
        port = port or int(env["E2E_WEB_PORT"])
        super().__init__(env, port=port, workers=1, name="uvicorn", role="ws", DB_POOL_MAX_SIZE="4")


class WsgiServer(_E2EServer):
    """The Procfile's web role (gunicorn sync workers: the pages as deployed), one worker."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env, port=int(env["E2E_WEB_PORT"]), workers=1, name="gunicorn", role="web")


@contextlib.contextmanager
def running(process: P, request: pytest.FixtureRequest) -> Iterator[P]:
    """`process` started for one test, stopped after it; its log printed if the test failed."""
    try:
        process.start()
        yield process
    finally:
        process.stop()
        _report_on_failure(request, process)


def _report_on_failure(request: pytest.FixtureRequest, process: ManagedProcess) -> None:
    # What the process said is usually the explanation (rep_call: see conftest's hook).
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        sys.stderr.write(f"\n----- {process.name} log ({process.log_path}) -----\n{process.log_tail(120)}\n")
