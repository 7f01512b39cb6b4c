"""The one place that builds a Stripe client: keys, API base (the stand-in in dev/tests), timeouts."""

from __future__ import annotations

import functools

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Errors worth retrying: Stripe (or the network to it) is unavailable for now. Anything
# else (a bad request, an unknown price) is a bug or bad data and goes to the failed state.
STRIPE_TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    stripe.APIConnectionError,
    stripe.RateLimitError,
    stripe.APIError,
)


def billing_enabled() -> bool:
    """Billing is switched on by STRIPE_SECRET_KEY being set."""
    return bool(settings.STRIPE_SECRET_KEY)


def stripe_client() -> stripe.StripeClient:
    """A Stripe client for the configured key and API base (one per process and setting)."""
    if not settings.STRIPE_SECRET_KEY:
        raise ImproperlyConfigured("Billing is off: set STRIPE_SECRET_KEY (a test key outside production)")
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT_SECONDS)


@functools.lru_cache(maxsize=8)
def _client(api_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    # No retries inside the client: a task retries with backoff instead of blocking a worker.
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=timeout),
    )
