"""Organization and person names lose control and bidi-override characters on input, so a
CRLF in a name can never start a line of an email (issue 9, item 14). The email itself, through
the real sign-up, is checked in tests/e2e/test_display_names_in_email.py."""

import pytest

from invitations.forms import AcceptWithNewAccountForm
from tests.factories import DEFAULT_PASSWORD

HOSTILE = "Acme\r\nBcc: attacker@evil.example\r\n\u202eelpmaxe\u202c"
CLEANED = "Acme Bcc: attacker@evil.example elpmaxe"  # one line, read left to right


def test_tenant_provision_cleans_the_name(make_tenant):
    tenant = make_tenant(name=HOSTILE)

    tenant.refresh_from_db()
    assert tenant.name == CLEANED


def test_a_name_of_controls_only_is_an_empty_name(make_tenant):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        make_tenant(name="\r\n\u202e\x00")
    assert "name" in raised.value.message_dict


def test_invitation_sign_up_form_cleans_the_persons_name():
    form = AcceptWithNewAccountForm(
        {"full_name": "Mallory\r\nReply-To: x@evil.example", "password": DEFAULT_PASSWORD}
    )

    assert form.is_valid(), form.errors
    assert form.cleaned_data["full_name"] == "Mallory Reply-To: x@evil.example"
