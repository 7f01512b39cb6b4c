"""Headless Chromium under the Content Security Policy: zero violations, and a security key.

Every page a person reaches (login, sign-up, dashboard with its live socket, members,
billing, settings, notifications, API keys, Swagger UI, Redoc, the account and two-factor
pages, the hand-off between hosts) is loaded in a browser that reports each CSP violation
(the `securitypolicyviolation` event, through an exposed binding that outlives navigations,
and Chromium's console). The owner then registers a security key with Chromium's virtual
authenticator (CDP WebAuthn domain) and logs in again with it as the second factor; another
owner upgrades (the redirect to the Stripe stand-in's checkout passes form-action), sets up
an authenticator app (codes from pyotp), logs in with its code and opens the admin.
"""

from __future__ import annotations

import uuid
from typing import Any

import pyotp
import pytest
from allauth.mfa.models import Authenticator

from accounts.models import User
from accounts.services import membership_create
from tenants.services import tenant_provision
from tests.e2e.browser import chromium, requires_chromium

pytestmark = pytest.mark.e2e

PASSWORD = "csp-passphrase-long-and-odd-19"
TIMEOUT_MS = 20_000
REPORTER = """
window.__snapshots = [];
document.addEventListener("live:snapshot", (e) => { window.__snapshots.push(e.detail.reason); });
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation(`${location.href} ${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


def watch(context: Any) -> list[str]:
    """Every CSP violation any page of `context` reports, as text."""
    violations: list[str] = []

    def record(text: str) -> None:
        violations.append(text)

    context.expose_function("__cspViolation", record)
    context.add_init_script(REPORTER)

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"console: {message.text}")

    context.on("console", on_console)
    return violations


def visit(page: Any, url: str, ready: str | None = None) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    if ready:
        page.wait_for_selector(ready)


def log_in(page: Any, public: str, email: str) -> None:
    page.goto(f"{public}/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main").get_by_role("button", name="Sign In").click()


def reauthenticate(page: Any, public: str, path: str) -> None:
    page.goto(f"{public}{path}")
    if "/reauthenticate/" in page.url:
        page.fill("input[name=password]", PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(f"{public}{path}")


@requires_chromium
def test_every_page_runs_under_the_policy_and_a_security_key_is_a_second_factor(e2e_env, asgi_server):
    slug = f"csp{uuid.uuid4().hex[:8]}"
    tenant = tenant_provision(name="Acme Policy", slug=slug)
    owner = User.objects.create_user(f"owner-{slug}@example.com", PASSWORD, full_name="Olive Owner")
    membership_create(user=owner, tenant=tenant, role="owner")
    public = asgi_server.url.rstrip("/")
    home = f"http://{slug}.localhost:{asgi_server.port}/"

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        violations = watch(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)

        visit(page, f"{public}/")
        visit(page, f"{public}/signup/", "input[name=email]")
        log_in(page, public, owner.email)
        page.wait_for_url(home)  # through the hand-off page's cross-host form
        page.wait_for_function("() => window.__snapshots.includes('connect')")  # the socket's first snapshot
        for path in ("members/", "billing/", "settings/", "notifications/", "api-keys/"):
            visit(page, home + path)
        visit(page, home + "api/docs/", ".swagger-ui .info")
        visit(page, home + "api/docs/redoc/", "#redoc-container h1")

        visit(page, f"{public}/account/security/")
        visit(page, f"{public}/sessions/")
        visit(page, f"{public}/2fa/")
        reauthenticate(page, public, "/2fa/totp/activate/")
        assert page.locator("img.qr").evaluate("img => img.complete && img.naturalWidth > 0")

        # A security key, with Chromium's virtual authenticator answering the ceremony.
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "usb",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        reauthenticate(page, public, "/2fa/webauthn/add/")
        page.fill("input[name=name]", "Desk key")
        page.click("#mfa_webauthn_add")
        page.wait_for_url(lambda url: "/2fa/webauthn/add/" not in url)
        assert "Desk key" in page.content() or page.url.endswith("/2fa/recovery-codes/")

        page.goto(home)
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(f"{public}/")
        log_in(page, public, owner.email)
        page.wait_for_url(f"{public}/2fa/authenticate/")
        page.click("#mfa_webauthn_authenticate")
        page.wait_for_url(home)
        context.close()

    assert violations == [], "\n".join(violations)
    assert Authenticator.objects.filter(user=owner, type=Authenticator.Type.WEBAUTHN).count() == 1


@pytest.fixture
def e2e_env_overrides(stripe_fake) -> dict[str, str | None]:
    """Billing on, against the Stripe stand-in (its origin joins the policy's form-action)."""
    return {
        "STRIPE_SECRET_KEY": "sk_test_" + "c" * 24,
        "STRIPE_WEBHOOK_SECRET": "whsec_csp",
        "STRIPE_API_BASE": stripe_fake.url,
        "STRIPE_PRICE_PRO": "price_pro",
        "STRIPE_PRICE_BUSINESS": "price_business",
        "STRIPE_TIMEOUT_SECONDS": "2",
    }


@requires_chromium
def test_checkout_the_authenticator_app_and_the_admin_under_the_policy(e2e_env, asgi_server):
    slug = f"cspb{uuid.uuid4().hex[:8]}"
    tenant = tenant_provision(name="Acme Checkout", slug=slug)
    owner = User.objects.create_user(
        f"staff-{slug}@example.com", PASSWORD, full_name="Sam Staff", is_staff=True, is_superuser=True
    )
    membership_create(user=owner, tenant=tenant, role="owner")
    public = asgi_server.url.rstrip("/")
    home = f"http://{slug}.localhost:{asgi_server.port}/"
    stripe_base = e2e_env["STRIPE_API_BASE"].rstrip("/")

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        violations = watch(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        log_in(page, public, owner.email)
        page.wait_for_url(home)
        visit(page, home + "billing/")
        # The form posts here and is redirected to Stripe's page: form-action covers the redirect.
        page.get_by_role("button", name="Upgrade to Pro").click()
        page.wait_for_url(lambda url: url.startswith(stripe_base + "/checkout/"))

        # The authenticator app, through the real server: the secret from the setup page, then
        # a login that asks for the code before the admin opens.
        reauthenticate(page, public, "/2fa/totp/activate/")
        totp = pyotp.TOTP(page.input_value("#authenticator_secret"))
        page.fill("input[name=code]", totp.now())
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(f"{public}/2fa/recovery-codes/")
        page.goto(home)
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(f"{public}/")
        log_in(page, public, owner.email)
        page.wait_for_url(f"{public}/2fa/authenticate/")
        page.fill("input[name=code]", totp.now())
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_url(home)

        for path in ("/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{owner.pk}/change/"):
            visit(page, public + path, "#content")
        context.close()

    assert violations == [], "\n".join(violations)
