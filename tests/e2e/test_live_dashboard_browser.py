"""Headless Chromium: the owner's dashboard updates in place when a newcomer accepts an invitation.

The owner logs in through the login page (hand-off to the tenant host) and keeps the
dashboard open; a second browser opens the invitation link and accepts it by creating an
account. Without a reload the owner's member list, member count, unread count (its badge
shown) and a toast (in a polite live region) change. The ws role serves pages and sockets
on one port, as `make dev` runs it (a browser needs one origin for both). Screenshots before
and after are saved under var/artifacts/browser/ (the tests' artifacts; CI can upload them).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import User
from accounts.services import membership_create
from invitations.services import invitation_create
from invitations.tokens import token_for_salt
from tenants.services import tenant_provision
from tests.conftest import on_plan
from tests.e2e.browser import chromium, requires_chromium

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "artifacts" / "browser"
OWNER_PASSWORD = "owner-passphrase-long-and-odd-73"
NEW_PASSWORD = "newcomer-passphrase-long-and-odd-58"

# Runs before the page's own scripts: records the snapshots live.js applied and the page's
# loads (a reload would start the list again).
RECORDER = """
window.__loads = (Number(sessionStorage.getItem("loads")) || 0) + 1;
sessionStorage.setItem("loads", String(window.__loads));
window.__snapshots = [];
document.addEventListener("live:snapshot", function (e) { window.__snapshots.push(e.detail.reason); });
"""


def text_of(page, name: str) -> str:
    return page.locator(f'[data-live="{name}"]').first.inner_text()


@requires_chromium
def test_the_owners_dashboard_changes_in_place_when_an_invitation_is_accepted(asgi_server):
    slug = f"view{uuid.uuid4().hex[:8]}"
    tenant = tenant_provision(name="Acme Live View", slug=slug)
    on_plan(tenant, "pro")
    owner = User.objects.create_user("owner@example.com", OWNER_PASSWORD, full_name="Olive Owner")
    membership_create(user=owner, tenant=tenant, role="owner")
    invitation = invitation_create(tenant=tenant, inviter=owner, email="nina@example.com", role="member")
    public = f"http://localhost:{asgi_server.port}"
    dashboard = f"http://{slug}.localhost:{asgi_server.port}/"
    link = f"{public}/invitations/{token_for_salt(invitation.token_salt)}/"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with chromium() as browser:
        owner_context = browser.new_context(viewport={"width": 1100, "height": 800})
        owner_context.add_init_script(RECORDER)
        page = owner_context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{public}/login/")
        page.fill("input[name=login]", "owner@example.com")
        page.fill("input[name=password]", OWNER_PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(dashboard)
        page.wait_for_function("() => window.__snapshots.includes('connect')")  # a function: CSP, no eval
        assert [text_of(page, "member-count"), page.locator('[data-live="members"] li').count()] == ["1", 1]
        assert page.locator('[data-live="notifications-badge"]').is_hidden()
        page.screenshot(path=str(ARTIFACTS / "live-dashboard-before.png"), full_page=True)

        newcomer = browser.new_context().new_page()
        newcomer.set_default_timeout(20_000)
        newcomer.goto(link)
        newcomer.fill("input[name=full_name]", "Nina Newcomer")
        newcomer.fill("input[name=password]", NEW_PASSWORD)
        newcomer.click("button[value=signup]")
        newcomer.wait_for_url(dashboard)  # she lands on the same dashboard, as a member

        page.locator('[data-live="members"] li', has_text="Nina Newcomer").wait_for()
        page.wait_for_function(
            "() => document.querySelector('[data-live=\"notifications-count\"]').textContent === '1'"
        )
        # The notification itself joins the dashboard's list, above the "No notifications." it replaces.
        notes = page.locator('[data-live="notifications"] li')
        notes.first.wait_for()
        page.wait_for_function(
            "() => document.querySelector('[data-live=\"notifications\"] li[data-notification-id]') !== null"
        )
        assert notes.count() == 1 and "No notifications." not in notes.first.inner_text()
        assert "just now" in notes.first.inner_text()
        toast = page.locator('[data-live="toasts"] .toast', has_text="Nina Newcomer joined.")
        toast.wait_for()
        page.screenshot(path=str(ARTIFACTS / "live-dashboard-after.png"), full_page=True)
        region = page.locator('[data-live="toasts"]')
        shown = {
            "members": page.locator('[data-live="members"] li').all_inner_texts(),
            "count": text_of(page, "member-count"),
            "badge_visible": page.locator('[data-live="notifications-badge"]').is_visible(),
            "region": (region.get_attribute("role"), region.get_attribute("aria-live")),
            "loads": page.evaluate("window.__loads"),
            "snapshots": page.evaluate("window.__snapshots"),
            "url": page.url,
        }
        owner_context.close()

    assert [" ".join(item.split()) for item in shown["members"]] == [
        "Olive Owner Owner",
        "Nina Newcomer Member",
    ]
    assert shown["count"] == "2"
    assert shown["badge_visible"] is True
    assert shown["region"] == ("status", "polite")
    # No reload: the page loaded once and live.js applied one snapshot, on connect.
    assert (shown["loads"], shown["snapshots"], shown["url"]) == (1, ["connect"], dashboard)
