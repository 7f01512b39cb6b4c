"""Invite -> the worker emails the link over SMTP -> the link accepts -> the new member's dashboard.

Real processes: uvicorn serving config.asgi, a Celery worker, an aiosmtpd server; every HTTP
request goes through uvicorn with the host a browser would send.
"""

import re
import uuid
from urllib.parse import urlsplit

import pytest

from accounts.models import Membership, User
from accounts.services import membership_create
from invitations.models import Invitation
from tenants.models import Tenant
from tenants.services import tenant_provision
from tests.e2e.conftest import BrowserClient

pytestmark = pytest.mark.e2e
OWNER_PASSWORD = "owner-passphrase-long-and-odd-73"
NEW_PASSWORD = "newcomer-passphrase-long-and-odd-58"


def test_invitation_from_members_page_to_new_members_dashboard(
    e2e_env, asgi_server, celery_worker, smtp_server, browser_client
):
    slug = f"inv{uuid.uuid4().hex[:8]}"
    tenant = tenant_provision(name="Acme Invites", slug=slug)
    Tenant.objects.filter(pk=tenant.pk).update(plan="pro")
    owner = User.objects.create_user("owner@example.com", OWNER_PASSWORD, full_name="Olive Owner")
    membership_create(user=owner, tenant=tenant, role="owner")
    public = asgi_server.url
    tenant_base = f"http://{slug}.{urlsplit(public).hostname}:{asgi_server.port}"

    # The owner logs in on the public host and is handed off to the organization.
    browser_client.get(f"{public}/login/")
    landing = browser_client.post(f"{public}/login/", {"login": "owner@example.com",
                                                       "password": OWNER_PASSWORD})
    assert landing.status_code == 200, browser_client.history
    assert urlsplit(landing.url).hostname == f"{slug}.localhost"

    # Invite from the members page.
    assert browser_client.get(f"{tenant_base}/members/").status_code == 200
    invited = browser_client.post(f"{tenant_base}/members/", {"email": "Newcomer@Example.com",
                                                              "role": "member"})
    assert invited.status_code == 200, browser_client.history
    assert "Invitation sent to newcomer@example.com" in invited.text

    # The worker delivers the email; its link is the only copy of the token we use.
    [message] = smtp_server.wait_for(1, timeout=30)
    assert message["To"] == "newcomer@example.com"
    assert "Acme Invites" in message["Subject"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://\S+/invitations/[A-Za-z0-9_-]{43}/", body).group(0)
    assert urlsplit(link).netloc == urlsplit(public).netloc  # the public host, right port

    # The newcomer opens the link in their own browser and creates an account from it.
    newcomer = BrowserClient(asgi_server.port)
    page = newcomer.get(link)
    assert page.status_code == 200
    assert "Acme Invites" in page.text and "Olive Owner" in page.text
    weak = newcomer.post(link, {"action": "signup", "password": "123"})
    assert weak.status_code == 400 and "errorlist" in weak.text
    dashboard = newcomer.post(link, {"action": "signup", "password": NEW_PASSWORD,
                                     "full_name": "Nina Newcomer"})
    assert dashboard.status_code == 200, newcomer.history
    assert urlsplit(dashboard.url).hostname == f"{slug}.localhost"
    assert urlsplit(dashboard.url).path == "/"
    assert "<h1>Acme Invites</h1>" in dashboard.text
    assert "Nina Newcomer" in dashboard.text and "Your role: Member" in dashboard.text

    assert Membership.objects.filter(tenant=tenant, user__email="newcomer@example.com").count() == 1
    assert Invitation.objects.get(tenant=tenant).state == Invitation.State.ACCEPTED
    # The link is single use.
    assert "already been used" in newcomer.get(link).text
