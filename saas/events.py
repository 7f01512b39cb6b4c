"""Domain events: declared once, with a typed payload, through a transactional outbox.

An event is a `DomainEvent` declared in `saas/signals.py` with a frozen dataclass as its
payload. The same object publishes and receives it:

    user_signed_up.publish(UserSignedUp(user_id=..., tenant_id=...), tenant_schema=...)

    @user_signed_up.receiver("accounts.welcome_email")
    def on_signed_up(event: Envelope[UserSignedUp]) -> None: ...

`publish()` writes the event in the caller's transaction, so it exists if and only if the
change that caused it committed. After commit the relay calls the receivers and marks the row
dispatched. If that fails (the broker is down, the process dies), the row stays pending and
the beat-driven sweeper dispatches it again later. Receivers therefore see an event at least
once and must be idempotent: `Envelope.key(channel)` names one side effect of one event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.models import OutboxEvent
from saas.observability import bound_request_context
from saas.schemas import current_schema
from saas.telemetry import current_trace_context, span_in

logger = structlog.get_logger(__name__)

# How long a dispatcher may hold an event before another may take it over.
DISPATCH_LEASE = timedelta(seconds=60)

P = TypeVar("P")


@dataclasses.dataclass(frozen=True)
class Envelope(Generic[P]):
    """What a receiver gets: the event's id, the tenant it belongs to, and its typed payload."""

    id: str
    name: str
    tenant_schema: str
    payload: P

    def key(self, channel: str) -> str:
        """The idempotency key of this event's side effect on `channel` (`<event id>:<channel>`)."""
        return f"{self.id}:{channel}"


class DomainEvent(Generic[P]):
    """One kind of domain event: a name, a payload dataclass, and its receivers."""

    registry: ClassVar[dict[str, DomainEvent[Any]]] = {}

    def __init__(self, name: str, payload_type: type[P]) -> None:
        if name in DomainEvent.registry:
            raise ValueError(f"Event {name!r} is declared twice")
        if not dataclasses.is_dataclass(payload_type):
            raise TypeError(f"The payload of {name!r} must be a dataclass")
        self.name = name
        self.payload_type = payload_type
        self._signal = Signal()
        DomainEvent.registry[name] = self

    def __repr__(self) -> str:
        return f"<DomainEvent {self.name}>"

    def publish(self, payload: P, *, tenant_schema: str | None = None) -> OutboxEvent:
        """Record the event in the current transaction; receivers run after commit."""
        if not isinstance(payload, self.payload_type):
            raise TypeError(f"{self.name} takes a {self.payload_type.__name__}, not {type(payload).__name__}")
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("publish() must run inside the transaction of the change it reports")
        schema = tenant_schema or current_schema()
        trace_context = current_trace_context()
        event = OutboxEvent.objects.create(
            name=self.name,
            payload=dataclasses.asdict(payload),  # type: ignore[call-overload]
            tenant_schema=schema,
            traceparent=trace_context.get("traceparent", ""),
            tracestate=trace_context.get("tracestate", "")[:512],
        )
        event_id = event.id
        transaction.on_commit(lambda: outbox_dispatch(event_id=event_id), robust=True)
        return event

    def receiver(
        self, dispatch_uid: str
    ) -> Callable[[Callable[[Envelope[P]], None]], Callable[[Envelope[P]], None]]:
        """Decorator: call the function with each dispatched event of this kind."""

        def connect(function: Callable[[Envelope[P]], None]) -> Callable[[Envelope[P]], None]:
            self.connect(function, dispatch_uid=dispatch_uid)
            return function

        return connect

    def connect(self, function: Callable[[Envelope[P]], None], *, dispatch_uid: str) -> None:
        def adapter(*, envelope: Envelope[P], **_: Any) -> None:
            function(envelope)

        # The adapter is held strongly (weak=False): it exists only to be connected.
        self._signal.connect(adapter, weak=False, dispatch_uid=dispatch_uid)

    def disconnect(self, *, dispatch_uid: str) -> None:
        self._signal.disconnect(dispatch_uid=dispatch_uid)

    def payload_from(self, data: dict[str, Any]) -> P:
        """The typed payload of a stored event; TypeError if the row does not fit the type."""
        return self.payload_type(**data)

    def send(self, envelope: Envelope[P]) -> list[str]:
        """Call every receiver (one failing never stops the others); the errors, if any."""
        results = self._signal.send_robust(sender=OutboxEvent, envelope=envelope)
        return [f"{_name(r)}: {e!r}" for r, e in results if isinstance(e, Exception)]


def _name(receiver: Any) -> str:
    return getattr(receiver, "__qualname__", repr(receiver))


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


def outbox_dispatch(*, event_id: Any) -> bool:
    """Call one pending event's receivers; True if it is now dispatched.

    The row is claimed with a short lease (one UPDATE) rather than locked for the whole
    dispatch, so no transaction stays open while receivers talk to the broker. Every receiver
    runs even if one fails; any failure releases the row, still pending, for the sweeper.
    A row that can never be dispatched (an event no longer declared, a payload that does not
    fit its type) is marked failed at once instead of being retried forever.
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
    declared = DomainEvent.registry.get(event.name)
    try:
        if declared is None:
            raise LookupError(f"no event {event.name!r} is declared in saas/signals.py")
        envelope = Envelope(
            id=str(event.id),
            name=event.name,
            tenant_schema=event.tenant_schema,
            payload=declared.payload_from(event.payload),
        )
    except (LookupError, TypeError) as error:
        logger.error("outbox event cannot be dispatched", event_name=event.name, event_id=str(event.id))
        _outbox_mark(event_id, state=OutboxEvent.State.FAILED, last_error=repr(error))
        return False
    # The receivers' work (enqueued tasks and all they do) joins the trace of the change, and
    # their lines and spans belong to the event's tenant.
    with (
        bound_request_context(tenant_id=event.tenant_schema),
        span_in(
            "outbox.dispatch",
            {"traceparent": event.traceparent, "tracestate": event.tracestate},
            **{"event.name": event.name, "event.id": str(event.id)},
        ),
        schema_context(event.tenant_schema),
    ):
        errors = declared.send(envelope)
        if not errors:
            logger.info("outbox event dispatched", event_name=event.name, event_id=str(event.id))
    if errors:
        logger.warning(
            "outbox event not dispatched", event_name=event.name, event_id=str(event.id), errors=errors
        )
        _outbox_mark(event_id, state=OutboxEvent.State.PENDING, last_error="\n".join(errors))
        return False
    _outbox_mark(event_id, state=OutboxEvent.State.DISPATCHED, dispatched_at=timezone.now(), last_error="")
    return True


def _outbox_mark(event_id: Any, *, last_error: str, **changes: Any) -> None:
    with schema_context("public"), bookkeeping_transaction():
        OutboxEvent.objects.filter(id=event_id).update(
            locked_until=None, last_error=last_error[:4000], **changes
        )


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
