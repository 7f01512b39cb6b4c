"""A view's 404 and 403 on a tenant host are their pages, never a 500, under both servers.

Under uvicorn Django renders a view's exception on a thread whose connection has no tenant
schema; the tenant layout (the notification bell) then failed and the member got a 500 with no
traceback (saas.errors.ViewExceptionMiddleware). Gunicorn is the control.
"""

from __future__ import annotations

import pytest

from tests.e2e.support.client import BrowserClient, signed_in

pytestmark = pytest.mark.e2e


def test_under_uvicorn(e2e_env, asgi_server, make_tenant, member_of):
    _a_members_404_and_403_are_their_pages(asgi_server.port, make_tenant, member_of)


def test_under_gunicorn(e2e_env, wsgi_server, make_tenant, member_of):
    _a_members_404_and_403_are_their_pages(wsgi_server.port, make_tenant, member_of)


def _a_members_404_and_403_are_their_pages(port, make_tenant, member_of):
    tenant = make_tenant()
    member = member_of(tenant, role="member")
    host = tenant.domains.get(is_primary=True).domain
    base = f"http://{host}:{port}"
    client = BrowserClient(port)
    signed_in(client, member, host)
    assert client.get(f"{base}/").status_code == 200  # the organization is there

    for path in ("/reports/99999/download/", "/settings/export/99999/download/"):
        answer = client.get(f"{base}{path}")
        assert answer.status_code in (403, 404), (path, answer.status_code)
        assert answer.headers["X-Request-ID"] in answer.text  # the page a person can quote
        assert "Internal" not in answer.text

    missing = client.get(f"{base}/reports/99999/download/")
    assert missing.status_code == 404 and "Page not found" in missing.text
    # The tenant's layout rendered (its queries ran in the tenant's schema).
    assert 'href="/notifications/"' in missing.text
