"""What fills a tenant's seats: its members, counted here, plus what higher apps register.

Billing sits below invitations, so it cannot ask for pending invitations itself; instead
invitations registers a counter from its `AppConfig.ready()`
(`seat_counter_register(invitation_pending_count)`) and every seat check adds the counters
up. A counter is called as `counter(tenant=...)` inside `seat_check`'s transaction, with
the tenant's row locked by the caller, so it must count from the database, not a cache.
"""

from __future__ import annotations

from collections.abc import Callable

from accounts.models import Membership
from tenants.models import Tenant

# Called as counter(tenant=...); returns the seats it holds.
SeatCounter = Callable[..., int]

# Keyed by the counter's dotted name: registering again (a second ready(), a reloaded
# module) replaces the entry instead of counting the same seats twice.
_counters: dict[str, SeatCounter] = {}


def _key(counter: SeatCounter) -> str:
    return f"{counter.__module__}.{getattr(counter, '__qualname__', repr(counter))}"


def seat_counter_register(counter: SeatCounter) -> SeatCounter:
    """Count what `counter(tenant=...)` returns as taken seats, besides members (idempotent)."""
    _counters[_key(counter)] = counter
    return counter


def seat_counter_unregister(counter: SeatCounter) -> None:
    """Stop counting `counter`'s seats (unknown counters are ignored)."""
    _counters.pop(_key(counter), None)


def seat_counters() -> list[SeatCounter]:
    """The registered counters, in registration order (members are not among them)."""
    return list(_counters.values())


def seats_used(*, tenant: Tenant) -> int:
    """Seats taken: members plus every registered counter (pending invitations, say)."""
    members = Membership.objects.filter(tenant=tenant).count()
    return members + sum(counter(tenant=tenant) for counter in _counters.values())
