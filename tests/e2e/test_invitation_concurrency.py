"""Review item 1: ten browsers submitting one invitation link at once never get a 500.

Through uvicorn as the Procfile runs it: Django's sync views run in a thread pool there, so
two POSTs that re-read the invitation really run at the same moment in one process.
"""

import threading
import uuid

import pytest

from accounts.models import Membership, User
from accounts.services import membership_create
from invitations.services import invitation_create
from invitations.tokens import token_for_salt
from tenants.services import tenant_provision
from tests.e2e.support.client import BrowserClient

pytestmark = pytest.mark.e2e
PASSWORD = "newcomer-passphrase-long-and-odd-58"


@pytest.mark.parametrize("password", [PASSWORD, "short"], ids=["strong", "weak"])
def test_ten_simultaneous_submissions_of_one_link(e2e_env, asgi_server, password):
    slug = f"race{uuid.uuid4().hex[:8]}"
    tenant = tenant_provision(name="Race Inc", slug=slug)
    owner = User.objects.create_user(f"owner-{slug}@example.com", "owner-passphrase-long-73")
    membership_create(user=owner, tenant=tenant, role="owner")
    invitation = invitation_create(
        tenant=tenant, inviter=owner, email=f"new-{slug}@example.com", role="member"
    )
    link = f"{asgi_server.url}/invitations/{token_for_salt(invitation.token_salt)}/"

    browsers = [BrowserClient(asgi_server.port) for _ in range(10)]
    for browser in browsers:
        assert browser.get(link).status_code == 200  # each gets its own CSRF cookie
    start = threading.Barrier(len(browsers))
    statuses: list[int] = []
    lock = threading.Lock()

    def submit(browser: BrowserClient) -> None:
        start.wait(timeout=10)
        response = browser.post(link, {"action": "signup", "password": password}, follow=False)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=submit, args=(browser,)) for browser in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(statuses) == 10
    assert 500 not in statuses, statuses
    if password == PASSWORD:
        assert statuses.count(200) == 1, statuses  # the winner's hand-off page
        assert set(statuses) - {200} <= {400, 409}, statuses
        assert Membership.objects.filter(tenant=tenant, user__email=invitation.email).count() == 1
    else:
        assert set(statuses) == {400}, statuses  # ten field errors, nobody joined
        assert not User.objects.filter(email=invitation.email).exists()
