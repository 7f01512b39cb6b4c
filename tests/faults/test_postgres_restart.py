"""PostgreSQL goes away under page load and comes back (issue 17, part 5).

The web role (gunicorn, as deployed) reaches PostgreSQL through a TCP proxy the test cuts:
every open connection dropped and new ones refused, as during a restart or failover, then
accepted again on the same address. Pages asked for meanwhile get a clean 503 (never a 500,
never a traceback), and the same server process serves them again once PostgreSQL is back.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings

from tests.faults.proxy import CuttableProxy
from tests.realtime.conftest import session_cookie
from tests.security.isolation import make_org

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = 6


@pytest.fixture
def pg_proxy(transactional_db) -> Iterator[CuttableProxy]:
    from django.db import connection

    proxy = CuttableProxy(
        connection.settings_dict.get("HOST") or "127.0.0.1", int(connection.settings_dict.get("PORT") or 5432)
    )
    yield proxy
    proxy.close()


@pytest.fixture
def e2e_env_overrides(pg_proxy) -> dict[str, str | None]:
    from tests.e2e.support.processes import _database_url

    parts = urlsplit(_database_url())
    return {
        "DATABASE_URL": parts._replace(netloc=f"{parts.username}@127.0.0.1:{pg_proxy.port}").geturl(),
        "CONN_MAX_AGE": "60",  # production's persistent connections: the cut drops them mid-life
    }


def test_pages_answer_503_while_postgres_is_down_and_recover_without_a_restart(wsgi_server, pg_proxy):
    org = make_org(objects_per_kind=1)
    cookie = session_cookie(org.owner, org.host)
    base = f"http://127.0.0.1:{wsgi_server.port}"
    pages = [
        (org.host, "/", {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"}),
        (org.host, "/api/v1/projects/", {"Authorization": f"Bearer {org.key}"}),
        (settings.SAAS_BASE_DOMAIN, "/login/", {}),
    ]
    pid = wsgi_server.pid
    statuses: dict[str, Counter[int]] = {"before": Counter(), "outage": Counter(), "after": Counter()}
    problems: list[str] = []

    def load(phase: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for host, path, headers in pages:
                response = requests.get(
                    base + path, headers={"Host": f"{host}:{wsgi_server.port}", **headers},
                    allow_redirects=False, timeout=15,
                )  # fmt: skip
                statuses[phase][response.status_code] += 1
                if response.status_code >= 500 and response.status_code != 503:
                    problems.append(f"{phase}: {host}{path} -> {response.status_code}")
                if b"Traceback" in response.content or b"OperationalError" in response.content:
                    problems.append(f"{phase}: {host}{path} -> {response.status_code} shows the error")

    load("before", 2)
    pg_proxy.cut()
    load("outage", OUTAGE_SECONDS)
    pg_proxy.restore()
    time.sleep(0.5)
    load("after", 3)

    figures = {phase: dict(counts) for phase, counts in statuses.items()}
    print(f"\npostgres restart: {figures}, cut {pg_proxy.connections_cut}, refused {pg_proxy.refused}")
    assert problems == [], "\n".join(problems[:20])
    assert set(statuses["before"]) == {200}, statuses
    assert statuses["outage"][503] > 0 and pg_proxy.refused > 0, statuses
    assert pg_proxy.connections_cut >= 1  # an open connection was dropped, not only new ones refused
    assert set(statuses["after"]) == {200}, statuses
    assert wsgi_server.pid == pid and wsgi_server.running()  # recovered without a restart
