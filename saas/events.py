"""Domain events through a transactional outbox.

`publish()` writes the event in the caller's transaction, so it exists if and only if the
change that caused it committed. After commit the relay sends the event's signal and marks
the row dispatched. If that fails (the broker is down, the process dies), the row stays
pending and the beat-driven sweeper dispatches it again later.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.models import OutboxEvent
from saas.signals import EVENTS

logger = structlog.get_logger(__name__)

# How long a dispatcher may hold an event before another may take it over.
DISPATCH_LEASE = timedelta(seconds=60)


@contextmanager
def bookkeeping_transaction() -> Iterator[None]:
    """A transaction for redoable bookkeeping whose commit does not wait for the WAL flush.

    Each synchronous commit costs a disk flush (~3 ms here); dispatching an event took four.
    What is written here (a dispatch claim, a "dispatched" mark, a delivery record) may be lost
    in a database crash without harm: PostgreSQL flushes the WAL in order, so a lost write
    also loses every later one, the event is still pending, and the sweeper dispatches it
    again. Inside a caller's transaction nothing changes (its durability is the caller's).
    """
    owns_transaction = not transaction.get_connection().in_atomic_block
    with transaction.atomic():
        if owns_transaction:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def publish(name: str, payload: dict[str, Any], *, tenant_schema: str | None = None) -> OutboxEvent:
    """Record a domain event in the current transaction; it is dispatched after commit."""
    if name not in EVENTS:
        raise ValueError(f"Unknown event {name!r}: declare it in saas/signals.py")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish() must run inside the transaction of the change it reports")
    schema: str = tenant_schema or connection.schema_name  # type: ignore[attr-defined]
    event = OutboxEvent.objects.create(name=name, payload=payload, tenant_schema=schema)
    event_id = event.id
    transaction.on_commit(lambda: outbox_dispatch(event_id=event_id), robust=True)
    return event


def outbox_dispatch(*, event_id: Any) -> bool:
    """Send one pending event's signal; True if it is now dispatched.

    The row is claimed with a short lease (one UPDATE) rather than locked for the whole
    dispatch, so no transaction stays open while receivers talk to the broker. Every receiver
    runs even if one fails; any failure releases the row, still pending, for the sweeper.
    """
    now = timezone.now()
    with schema_context("public"), bookkeeping_transaction():
        claimed = (
            OutboxEvent.objects.filter(id=event_id, state=OutboxEvent.State.PENDING)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .update(locked_until=now + DISPATCH_LEASE, attempts=F("attempts") + 1)
        )
        if not claimed:
            return False
        event = OutboxEvent.objects.get(id=event_id)
    with schema_context(event.tenant_schema):
        results = EVENTS[event.name].send_robust(
            sender=OutboxEvent,
            event_id=str(event.id),
            payload=event.payload,
            tenant_schema=event.tenant_schema,
        )
    errors = [f"{getattr(r, '__qualname__', r)}: {e!r}" for r, e in results if isinstance(e, Exception)]
    with schema_context("public"), bookkeeping_transaction():
        rows = OutboxEvent.objects.filter(id=event_id)
        if errors:
            rows.update(last_error="\n".join(errors)[:4000], locked_until=None)
            logger.warning(
                "outbox event not dispatched", event_name=event.name, event_id=str(event.id), errors=errors
            )
            return False
        rows.update(
            state=OutboxEvent.State.DISPATCHED, dispatched_at=timezone.now(), locked_until=None, last_error=""
        )
    return True


def outbox_sweep(*, limit: int = 500) -> int:
    """Dispatch events left pending (broker down at commit, process killed); returns how many."""
    now = timezone.now()
    # Younger rows are left to the on-commit relay of the process that wrote them.
    grace = timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)
    with schema_context("public"):
        pending = list(
            OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING, created_at__lt=now - grace)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .order_by("created_at")
            .values_list("id", flat=True)[:limit]
        )
    return sum(1 for event_id in pending if outbox_dispatch(event_id=event_id))
