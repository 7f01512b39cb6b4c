"""The isolation sweep's sample through a real server (the Procfile's web role, gunicorn):
every tenant route once, with B's ids, on B's host with A's replayed session cookie and with
A's API key, spoken to over HTTP as a browser or a script would. The in-process sweep
(test_isolation_urls.py) tries every id and method; this pass proves the deployed stack (WSGI
handler, middleware order, real cookies and headers) gives the same answers."""

from __future__ import annotations

import pytest
import requests
from django.conf import settings

from tests.realtime.conftest import session_cookie
from tests.security.isolation import make_world, routes
from tests.security.test_isolation_urls import PUBLIC_ON_TENANT_HOSTS, REFUSED

pytestmark = pytest.mark.e2e


def test_a_sample_of_the_sweep_through_gunicorn(e2e_env, wsgi_server):
    a, b = make_world()
    cookie = session_cookie(a.owner, a.host)
    base = f"http://127.0.0.1:{wsgi_server.port}"
    b_id = str(b.ids["project"][-1])
    problems, attempts = [], 0
    with requests.Session() as session:
        for route in routes(settings.ROOT_URLCONF):
            path = route.path(dict.fromkeys(route.parameters, b_id))
            for headers in (
                {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
                {"Authorization": f"Bearer {a.key}"},
                {},
            ):
                attempts += 1
                response = session.get(
                    base + path, headers={"Host": f"{b.host}:{wsgi_server.port}", **headers},
                    allow_redirects=False, timeout=15,
                )  # fmt: skip
                where = f"{path} ({route.name}) with {sorted(headers)} -> {response.status_code}"
                if b.marker.encode() in response.content.lower():
                    problems.append(f"{where}: B's marker in the body")
                if response.status_code not in REFUSED and route.name not in PUBLIC_ON_TENANT_HOSTS:
                    problems.append(f"{where}: not a refusal")
    assert problems == [], "\n".join(problems)
    assert "Traceback" not in wsgi_server.log()
    print(f"\nisolation (gunicorn): {attempts} requests on B's host, 0 leaks")
