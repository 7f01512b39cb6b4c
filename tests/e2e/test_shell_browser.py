"""Every page of the product in headless Chromium at 1280 px and 390 px.

The navigation reaches each page (links are clicked, not typed), nothing scrolls sideways on a
phone (the document is exactly as wide as the viewport), axe-core finds no serious or critical
accessibility violation, and each page is saved as a screenshot under var/artifacts/browser/
(the test's artifacts; CI can upload that folder).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from accounts.models import User
from accounts.services import membership_create
from invitations.services import invitation_create
from tenants.services import tenant_provision
from tests.e2e.browser import chromium, requires_chromium

pytestmark = pytest.mark.e2e

PASSWORD = "shell-passphrase-long-and-odd-41"
WIDTHS = (1280, 390)
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "artifacts" / "browser"
AXE_VERSION = os.environ.get("AXE_VERSION", "4.10.3")
AXE_CACHE = Path(
    os.environ.get("AXE_CACHE_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    / "saas-foundation"
    / f"axe-core-{AXE_VERSION}"
)
AXE_JS = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's script, installed by scripts/ensure-axe (as `make test` does) when missing."""
    if not AXE_JS.exists():
        script = Path(settings.BASE_DIR) / "scripts" / "ensure-axe"
        subprocess.run([str(script)], check=False, timeout=180)
    if not AXE_JS.exists():
        pytest.skip("axe-core is not installed and npm could not install it (see scripts/ensure-axe)")
    return AXE_JS.read_text()


def check_page(page: Any, axe: str, name: str, width: int) -> None:
    """No sideways scroll at phone width, no serious/critical axe violation, a screenshot."""
    page.wait_for_load_state("load")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] == widths[1], f"{name} at {width}px scrolls sideways: {widths}"
    # Evaluated over the DevTools protocol: an inline <script> tag would be refused by the CSP.
    page.evaluate(axe)
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(" ")).join(", ")}`);
        }"""
    )
    assert violations == [], f"{name} at {width}px: {violations}"


def nav_click(page: Any, label: str, *, within: str = "nav.appnav") -> None:
    page.locator(within).get_by_role("link", name=label, exact=True).click()
    page.wait_for_load_state("load")


@requires_chromium
def test_every_page_at_desktop_and_phone_width(e2e_env, asgi_server, axe_source):
    slug = f"shell{uuid.uuid4().hex[:8]}"
    tenant = tenant_provision(name="Acme Shell Test Workspace", slug=slug)
    owner = User.objects.create_user(f"owner-{slug}@example.com", PASSWORD, full_name="Olive Owner")
    membership_create(user=owner, tenant=tenant, role="owner")
    member = User.objects.create_user(f"bo-{slug}@example.com", PASSWORD)
    membership_create(user=member, tenant=tenant, role="member")
    invitation_create(tenant=tenant, inviter=owner, email=f"new-{slug}@example.com", role="admin")
    public = asgi_server.url.rstrip("/")
    tenant_home = f"http://{slug}.{urlsplit(public).hostname}:{asgi_server.port}/"

    with chromium() as browser:
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)

            # Public pages, signed out.
            page.goto(f"{public}/")
            check_page(page, axe_source, "landing", width)
            assert page.locator("#pricing").get_by_text("Pro").first.is_visible()
            page.locator("header").get_by_role("link", name="Sign up").click()
            check_page(page, axe_source, "signup", width)
            page.locator("header").get_by_role("link", name="Log in").click()
            check_page(page, axe_source, "login", width)
            page.goto(f"http://nosuch-{slug}.localhost:{asgi_server.port}/")
            check_page(page, axe_source, "unknown-host", width)
            assert page.locator("link[rel=stylesheet]").count() == 1
            assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgba(0, 0, 0, 0)"
            page.get_by_role("link", name=public + "/").click()
            page.wait_for_url(f"{public}/")

            # Log in: the hand-off lands on the tenant's dashboard.
            page.goto(f"{public}/login/")
            page.fill("input[name=login]", owner.email)
            page.fill("input[name=password]", PASSWORD)
            page.locator("main").get_by_role("button", name="Sign In").click()
            page.wait_for_url(tenant_home)
            check_page(page, axe_source, "dashboard", width)
            assert page.locator("nav.appnav a[aria-current=page]").inner_text() == "Dashboard"

            for label, name in (("Members", "members"), ("Billing", "billing"), ("Settings", "settings")):
                nav_click(page, label)
                assert page.locator("nav.appnav a[aria-current=page]").inner_text() == label
                check_page(page, axe_source, name, width)
            page.get_by_role("link", name="Delete organization…").click()
            check_page(page, axe_source, "settings-delete", width)
            assert "Type the organization's subdomain to confirm" in page.content()
            nav_click(page, "Dashboard")
            page.get_by_role("link", name="Upgrade your plan").click()
            assert page.url == tenant_home + "billing/"

            # The organization switcher and the user menu open by keyboard.
            page.locator("details.switcher summary").focus()
            page.keyboard.press("Enter")
            assert page.get_by_role("link", name="New organization").is_visible()
            page.locator("details.user-menu summary").focus()
            page.keyboard.press("Enter")
            page.locator("details.user-menu").get_by_role("link", name="Profile").click()
            page.wait_for_url(f"{public}/account/profile/")
            check_page(page, axe_source, "profile", width)
            for label, name in (
                ("Password", "password"),
                ("Email addresses", "email"),
                ("Security", "security"),
                ("Organizations", "organizations"),
            ):
                nav_click(page, label)
                check_page(page, axe_source, name, width)
            page.locator("main").get_by_role("link", name="New organization").click()
            check_page(page, axe_source, "organization-new", width)
            assert page.get_by_role("button", name="Log out").is_visible()

            # Back on the tenant host, Log out is in plain sight and ends both sessions.
            page.goto(tenant_home)
            page.get_by_role("button", name="Log out").click()
            page.wait_for_url(f"{public}/")
            assert "You have signed out." in page.content()
            context.close()
