"""System checks: Stripe settings that would only fail later, at the first customer."""

import re
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from djstripe.models.api import API_KEY_REGEX


@register()
def stripe_key_shape(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """dj-stripe refuses a secret key not shaped like Stripe's; say so at start-up, not per customer."""
    key = settings.STRIPE_SECRET_KEY
    if not key or re.match(API_KEY_REGEX, key):
        return []
    return [
        Error(
            "STRIPE_SECRET_KEY is not shaped like a Stripe key (sk_test_/sk_live_/rk_... followed by "
            "at least 24 letters or digits), so dj-stripe refuses it on every customer it mirrors.",
            hint="Use the key from the Stripe dashboard; with the stand-in any "
            "sk_test_<24 letters or digits> works, e.g. sk_test_devdevdevdevdevdevdevdevdevd.",
            id="billing.E001",
        )
    ]
