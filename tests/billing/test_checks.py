"""Review item 17: the documented test setup runs clean; a key dj-stripe refuses fails at start-up."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_secret_key() -> str:
    found = re.search(r"STRIPE_SECRET_KEY=(\S+)", README.read_text())
    assert found, "the README documents a test-mode key"
    return found[1]


def test_the_readmes_test_key_passes_the_check(settings):
    settings.STRIPE_SECRET_KEY = documented_secret_key()
    call_command("check", "--fail-level", "ERROR")


def test_the_readmes_test_key_is_accepted_by_dj_stripe():
    from djstripe.models.api import get_api_key_details_by_prefix

    assert get_api_key_details_by_prefix(documented_secret_key()) == ("secret", False)


@pytest.mark.parametrize("key", ["sk_test_dev", "sk_live_short", "stripe-secret"])
def test_a_key_dj_stripe_refuses_stops_start_up_with_a_clear_message(settings, key):
    settings.STRIPE_SECRET_KEY = key
    with pytest.raises(SystemCheckError, match="billing.E001.*not shaped like a Stripe key"):
        call_command("check", "--fail-level", "ERROR")
