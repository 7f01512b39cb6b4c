"""A person in headless Chromium signs up on localhost and lands on <slug>.localhost."""

import pytest

from tests.e2e.browser import chromium, requires_chromium
from tests.e2e.signup_helpers import PASSWORD, new_identity

pytestmark = pytest.mark.e2e


@requires_chromium
def test_sign_up_in_a_real_browser(asgi_server, celery_worker, smtp_server):
    email, subdomain = new_identity("browser")
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"http://localhost:{asgi_server.port}/signup/")
        assert not page.is_visible("input[name=website]")  # the honeypot is hidden
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=organization_name]", "Browser Bakery")
        page.fill("input[name=subdomain]", subdomain)
        page.click("button[type=submit]")
        page.wait_for_url(f"http://{subdomain}.localhost:{asgi_server.port}/")
        assert page.locator("h1").inner_text() == "Browser Bakery"
        assert email in page.content()

        # Reloading keeps the session on the tenant host; the hand-off link is spent.
        page.reload()
        assert page.url == f"http://{subdomain}.localhost:{asgi_server.port}/"
        assert page.locator("h1").inner_text() == "Browser Bakery"

        # Log out from the tenant host: both hosts end up logged out.
        page.click("details.switcher summary")
        page.click("text=Log out")
        page.wait_for_url(f"http://localhost:{asgi_server.port}/")
        assert "You have signed out." in page.content()
        page.goto(f"http://{subdomain}.localhost:{asgi_server.port}/")
        assert page.url.startswith(f"http://localhost:{asgi_server.port}/login/")
        smtp_server.wait_for(1, timeout=20)
