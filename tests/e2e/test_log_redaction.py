"""Through uvicorn (the Procfile's web server, console log format): a token in a URL and a
secret-named query value never reach the server's output (issue 9, item 7)."""

import pytest
import requests

from devtools.processes import wait_until
from invitations.services import invitation_create
from invitations.tokens import token_for_salt
from saas.observability import REDACTED

pytestmark = pytest.mark.e2e


def test_tokens_in_requests_to_the_server_are_redacted_in_its_log(asgi_server, make_tenant, member_of):
    tenant = make_tenant()
    invitation = invitation_create(
        tenant=tenant, inviter=member_of(tenant, role="owner"), email="e2e-redact@example.com", role="member"
    )
    token = token_for_salt(invitation.token_salt)
    base = f"http://127.0.0.1:{asgi_server.port}"
    headers = {"Host": f"localhost:{asgi_server.port}"}

    assert requests.get(f"{base}/invitations/{token}/", headers=headers, timeout=10).status_code == 200
    missing = requests.get(f"{base}/nope/?token=qs-secret-1&code=qs-secret-2", headers=headers, timeout=10)
    assert missing.status_code == 404

    log = wait_until(
        lambda: asgi_server.log() if "Not Found: /nope/" in asgi_server.log() else "",
        timeout=10,
        message="the 404 warning in uvicorn's output",
    )
    assert token not in log and "qs-secret-1" not in log and "qs-secret-2" not in log
    assert f"/invitations/{REDACTED}/" in log
