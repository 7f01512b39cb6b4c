"""Every email the product sends shares one layout (saas/templates/saas/email/base.html)."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.template.loader import render_to_string

LAYOUT_MARK = "max-width:520px;margin:0 auto;background:#fff"

CONTEXTS: dict[str, dict[str, Any]] = {
    "accounts/email/welcome": {
        "organization": {"name": "Acme"},
        "organization_url": "http://acme.localhost:8000/",
        "user": {"email": "o@acme.test"},
    },
    "invitations/email/invitation": {
        "organization": "Acme",
        "inviter": "Olive",
        "role": "Admin",
        "link": "http://localhost:8000/invitations/x/",
        "expires_at": datetime(2030, 1, 1, tzinfo=UTC),
    },
    "invitations/email/reminder": {
        "organization": "Acme",
        "inviter": "Olive",
        "role": "Admin",
        "link": "http://localhost:8000/invitations/x/",
        "expires_at": datetime(2030, 1, 1, tzinfo=UTC),
    },
    "billing/email/plan_changed": {
        "tenant": {"name": "Acme"},
        "user": {"get_short_name": "Olive"},
        "plan": {"name": "Pro", "seats": 10},
        "old_plan": {"name": "Free"},
        "billing_url": "http://acme.localhost:8000/billing/",
    },
    "billing/email/payment_failed": {
        "tenant": {"name": "Acme"},
        "user": {"get_short_name": "Olive"},
        "plan": {"name": "Pro"},
        "billing_url": "http://acme.localhost:8000/billing/",
    },
}


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_each_email_uses_the_shared_layout_with_its_link_as_a_button(template):
    context = {"site_name": "Foundry", **CONTEXTS[template]}
    html = render_to_string(f"{template}.html", context)
    assert LAYOUT_MARK in html
    link = next(value for key, value in CONTEXTS[template].items() if key.endswith(("_url", "link")))
    assert f'href="{link}"' in html and f"paste this address into your browser: {link}" in html
