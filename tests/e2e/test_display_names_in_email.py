"""A CRLF in an organization name never becomes a line of an email (issue 9, item 14): the
real sign-up form on uvicorn, the welcome email sent by a Celery worker, read at aiosmtpd."""

import pytest

from tests.e2e.signup_helpers import assert_on_dashboard, new_identity, sign_up_through_the_form
from tests.security.test_display_names import CLEANED, HOSTILE

pytestmark = pytest.mark.e2e


def test_a_crlf_organization_name_never_becomes_a_line_of_the_welcome_email(
    asgi_server, celery_worker, smtp_server, browser_client
):
    email, subdomain = new_identity("crlf")

    response = sign_up_through_the_form(
        browser_client, asgi_server.url, email=email, subdomain=subdomain, organization_name=HOSTILE
    )

    assert_on_dashboard(response, subdomain=subdomain, email=email, port=asgi_server.port)
    [message] = smtp_server.wait_for(1, timeout=30)
    assert message["Bcc"] is None and list(smtp_server.envelopes[0][1]) == [email]
    for part in ("plain", "html"):
        body = message.get_body((part,)).get_content()
        lines = body.splitlines()
        assert not [line for line in lines if line.lstrip().lower().startswith("bcc:")], body
        assert "\u202e" not in body
    assert CLEANED in message.get_body(("plain",)).get_content()
