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
from devtools.processes import wait_until
from invitations.models import Invitation
from tenants.services import tenant_provision
from tests.conftest import on_plan
from tests.e2e.browser import chromium, requires_chromium
from tests.e2e.support.client import BrowserClient

pytestmark = pytest.mark.e2e
OWNER_PASSWORD = "owner-passphrase-long-and-odd-73"
NEW_PASSWORD = "newcomer-passphrase-long-and-odd-58"


def test_invitation_from_members_page_to_new_members_dashboard(
    e2e_env, asgi_server, celery_worker, smtp_server, browser_client
):
    slug = f"inv{uuid.uuid4().hex[:8]}"
    tenant = tenant_provision(name="Acme Invites", slug=slug)
    on_plan(tenant, "pro")
    owner = User.objects.create_user("owner@example.com", OWNER_PASSWORD, full_name="Olive Owner")
    membership_create(user=owner, tenant=tenant, role="owner")
    public = asgi_server.url
    tenant_base = f"http://{slug}.{urlsplit(public).hostname}:{asgi_server.port}"

    # The owner logs in on the public host and is handed off to the organization.
    browser_client.get(f"{public}/login/")
    landing = browser_client.post(
        f"{public}/login/", {"login": "owner@example.com", "password": OWNER_PASSWORD}
    )
    assert landing.status_code == 200, browser_client.history
    assert urlsplit(landing.url).hostname == f"{slug}.localhost"

    # Invite from the members page.
    assert browser_client.get(f"{tenant_base}/members/").status_code == 200
    invited = browser_client.post(
        f"{tenant_base}/members/", {"email": "Newcomer@Example.com", "role": "member"}
    )
    assert invited.status_code == 200, browser_client.history
    assert "Invitation sent to newcomer@example.com" in invited.text

    # The worker delivers the email; its link is the only copy of the token we use.
    [message] = smtp_server.wait_for(1, timeout=30)
    assert message["To"] == "newcomer@example.com"
    assert "Acme Invites" in message["Subject"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"http://\S+/invitations/[A-Za-z0-9_-]{43}/", body)
    assert found is not None, body
    link = found.group(0)
    assert urlsplit(link).netloc == urlsplit(public).netloc  # the public host, right port

    # The newcomer opens the link in their own browser and creates an account from it.
    newcomer = BrowserClient(asgi_server.port)
    page = newcomer.get(link)
    assert page.status_code == 200
    assert "Acme Invites" in page.text and "Olive Owner" in page.text
    weak = newcomer.post(link, {"action": "signup", "password": "123"})
    assert weak.status_code == 400 and "errorlist" in weak.text
    dashboard = newcomer.post(
        link, {"action": "signup", "password": NEW_PASSWORD, "full_name": "Nina Newcomer"}
    )
    assert dashboard.status_code == 200, newcomer.history
    assert urlsplit(dashboard.url).hostname == f"{slug}.localhost"
    assert urlsplit(dashboard.url).path == "/"
    assert "<h1>Acme Invites</h1>" in dashboard.text
    assert "Nina Newcomer" in dashboard.text and "Your role: Member" in dashboard.text

    assert Membership.objects.filter(tenant=tenant, user__email="newcomer@example.com").count() == 1
    assert Invitation.objects.get(tenant=tenant).state == Invitation.State.ACCEPTED
    # The link is single use.
    assert "already been used" in newcomer.get(link).text


@requires_chromium
def test_invitation_in_a_real_browser(e2e_env, asgi_server, celery_worker, smtp_server):
    slug = f"inv{uuid.uuid4().hex[:8]}"
    tenant = tenant_provision(name="Browser Guild", slug=slug)
    on_plan(tenant, "pro")
    owner = User.objects.create_user("guild.owner@example.com", OWNER_PASSWORD, full_name="Gus Owner")
    membership_create(user=owner, tenant=tenant, role="owner")
    port = asgi_server.port
    with chromium() as browser:
        admin_page = browser.new_context().new_page()
        admin_page.set_default_timeout(20_000)
        admin_page.goto(f"http://localhost:{port}/login/")
        admin_page.fill("input[name=login]", "guild.owner@example.com")
        admin_page.fill("input[name=password]", OWNER_PASSWORD)
        admin_page.click("form button[type=submit]")
        admin_page.wait_for_url(f"http://{slug}.localhost:{port}/")
        admin_page.click("text=Invite and manage members")
        admin_page.fill("#invite input[name=email]", "guild.newcomer@example.com")
        admin_page.select_option("#invite select[name=role]", "admin")
        admin_page.click("#invite button[type=submit]")
        assert "Invitation sent to guild.newcomer@example.com" in admin_page.content()
        assert "guild.newcomer@example.com" in admin_page.locator("#pending").inner_text()

        [message] = smtp_server.wait_for(1, timeout=30)
        body = message.get_body(preferencelist=("plain",)).get_content()
        found = re.search(r"http://\S+/invitations/[A-Za-z0-9_-]{43}/", body)
        assert found is not None, body
        link = found.group(0)

        # The worker recorded the send and cleared the cached list the web process reads.
        # (The SMTP server can see the message a moment before the worker commits.)
        def shows_sent() -> bool:
            admin_page.reload()
            return "sent 0\xa0minutes ago" in admin_page.locator("#pending").inner_text()

        wait_until(shows_sent, timeout=10, interval=0.2, message="'sent' on the members page")

        newcomer = browser.new_context().new_page()  # another person: no shared cookies
        newcomer.set_default_timeout(20_000)
        newcomer.goto(link)
        assert "Gus Owner" in newcomer.locator("#invitation").inner_text()
        newcomer.fill("#signup input[name=full_name]", "Gina Guild")
        newcomer.fill("#signup input[name=password]", NEW_PASSWORD)
        newcomer.click("text=Accept and create account")
        newcomer.wait_for_url(f"http://{slug}.localhost:{port}/")
        assert newcomer.locator("h1").inner_text() == "Browser Guild"
        assert "Your role: Admin" in newcomer.content()

        # The owner's members page now lists the newcomer as a member, not as pending.
        admin_page.goto(f"http://{slug}.localhost:{port}/members/")
        assert "Gina Guild" in admin_page.content()
        assert "No pending invitations." in admin_page.locator("#pending").inner_text()
