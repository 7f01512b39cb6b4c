"""Side effects that happen exactly once, retried until they succeed or are declared dead.

A receiver calls `delivery_enqueue(task, key=..., **kwargs)`: it records a TaskDelivery keyed
by `<event id>:<channel>` and enqueues the task. The task, built on `DeliveryTask`, wraps its
work in `delivery_run(delivery_id)`, which locks the row and skips work already done, so a
retried, redelivered (worker killed, `acks_late`) or re-dispatched task never repeats an effect
that completed.

Transient failures (the network, SMTP, HTTP peers) are retried by deadline, not by count: mail
servers queue for days and Stripe retries webhooks for three, so an outage of minutes or hours
must delay an effect, not lose it. Each wait is drawn with full jitter from a capped
exponential (`TASK_RETRY_BACKOFF_SECONDS` doubling up to `TASK_RETRY_BACKOFF_MAX_SECONDS`), the
last one is shortened to end at the deadline (`TASK_RETRY_DEADLINE_SECONDS` after the delivery
was recorded), and only a failure after that marks the delivery dead, visible in the admin,
where staff can retry it (one attempt at once; the deadline is long past by then). A count of
retries was the rejected alternative: 8 jittered retries from 2 s capped at 300 s span 4
minutes on average (8.5 at most), so a 5-minute SMTP outage killed about two emails in three.
"""

from __future__ import annotations

import random
import smtplib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import requests
import structlog
from celery import Task, current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import schema_context
from kombu.exceptions import OperationalError

from saas.events import bookkeeping_transaction
from saas.models import TaskDelivery
from saas.tasking import SchemaScope, TenantBoundTask

logger = structlog.get_logger(__name__)

# Failures worth retrying: the network, SMTP and HTTP peers. Anything else is a bug and
# goes straight to the dead state, where its traceback is visible.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes ConnectionError, socket.timeout
    socket.timeout,
    smtplib.SMTPException,
    requests.RequestException,
)


class DeliveryTask(TenantBoundTask):
    """Base for tasks that perform one recorded side effect (see module docstring)."""

    abstract = True
    # In the schema its delivery recorded (the event's: a tenant, or public for public events).
    schema_scope = SchemaScope.RECORDED
    # Celery's autoretry catches these and calls `retry`, which applies the policy below;
    # its own backoff is off (it rounds the base to whole seconds and knows no deadline).
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = False
    max_retries = None  # the deadline decides
    acks_late = True
    reject_on_worker_lost = True

    def retry(
        self,
        args: Any = None,
        kwargs: Any = None,
        exc: BaseException | None = None,
        throw: bool = True,
        eta: Any = None,
        countdown: float | None = None,
        max_retries: int | None = None,
        **options: Any,
    ) -> Any:
        if exc is not None and eta is None and countdown is None:
            # An eager run (CELERY_TASK_ALWAYS_EAGER) retries at once, ignoring any wait, so a
            # deadline would spin it; it fails instead (and the delivery is dead).
            if self.request.is_eager:
                raise exc
            countdown = retry_countdown(
                delivery_id=(self.request.kwargs or {}).get("delivery_id"), retries=self.request.retries
            )
            if countdown is None:
                raise exc  # past the deadline: on_failure records the delivery dead
        return super().retry(args, kwargs, exc, throw, eta, countdown, max_retries, **options)

    def on_retry(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        _record_failure(kwargs.get("delivery_id"), exc, dead=False)

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        _record_failure(kwargs.get("delivery_id"), exc, dead=True)
        logger.error("delivery dead", delivery_id=kwargs.get("delivery_id"), error=repr(exc))


def retry_backoff_seconds(*, retries: int) -> float:
    """Full jitter over a capped exponential: uniform in [0, min(cap, base * 2**retries)]."""
    # The exponent stops growing long before a float would overflow (a day of sub-second waits).
    ceiling = min(
        settings.TASK_RETRY_BACKOFF_MAX_SECONDS, settings.TASK_RETRY_BACKOFF_SECONDS * 2 ** min(retries, 60)
    )
    return random.uniform(0, ceiling)


def retry_countdown(*, delivery_id: int | None, retries: int) -> float | None:
    """Seconds until the next try of a delivery, or None once its deadline has passed."""
    if delivery_id is None:
        return None
    with schema_context("public"):
        created_at = TaskDelivery.objects.filter(id=delivery_id).values_list("created_at", flat=True).first()
    if created_at is None:
        return None
    deadline = created_at + timedelta(seconds=settings.TASK_RETRY_DEADLINE_SECONDS)
    remaining = (deadline - timezone.now()).total_seconds()
    if remaining <= 0:
        return None
    return min(retry_backoff_seconds(retries=retries), remaining)


def _record_failure(delivery_id: int | None, exc: BaseException, *, dead: bool) -> None:
    if delivery_id is None:
        return
    with schema_context("public"):
        rows = TaskDelivery.objects.filter(id=delivery_id).exclude(state=TaskDelivery.State.SUCCEEDED)
        changes: dict[str, Any] = {
            "last_error": f"{type(exc).__name__}: {exc}"[:4000],
            "attempts": F("attempts") + 1,
            "updated_at": timezone.now(),
        }
        if dead:
            changes["state"] = TaskDelivery.State.DEAD
        rows.update(**changes)


def delivery_enqueue(task: Task, *, key: str, tenant_schema: str = "public", **kwargs: Any) -> TaskDelivery:
    """Record the side effect `key` and enqueue `task` for it, unless it already happened.

    Called by receivers after commit; an enqueue failure (broker down) propagates so the
    outbox keeps the event pending and dispatches it again later.
    """
    with schema_context("public"), bookkeeping_transaction():
        delivery, _ = TaskDelivery.objects.get_or_create(
            key=key,
            defaults={"task_name": task.name, "task_kwargs": kwargs, "tenant_schema": tenant_schema},
        )
    if delivery.state != TaskDelivery.State.SUCCEEDED:
        _send(delivery)
    return delivery


class BrokerUnavailable(ConnectionError):
    """The broker refused an enqueue moments ago, so this one was not attempted."""


# After a refused enqueue, others fail at once for this long instead of each waiting out the
# publish retries: the receivers of one event would otherwise hold the request that committed
# it (the relay runs on commit, in that request) for every one of them. Their events stay
# pending and the sweeper enqueues them once the broker is back.
BROKER_DOWN_SECONDS = 5.0
_broker_down_until = 0.0
_broker_lock = threading.Lock()


def _send(delivery: TaskDelivery) -> None:
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        raise BrokerUnavailable(f"broker unreachable moments ago; {delivery.key} left for the sweeper")
    try:
        # The configured app (config/celery.py) is the current one in every process that sends.
        with schema_context(delivery.tenant_schema):  # tenant-schemas-celery stamps this schema
            current_app.tasks[delivery.task_name].apply_async(
                kwargs={"delivery_id": delivery.id, **delivery.task_kwargs}
            )
    except (OperationalError, OSError):
        with _broker_lock:
            _broker_down_until = time.monotonic() + BROKER_DOWN_SECONDS
        raise


@contextmanager
def delivery_run(delivery_id: int) -> Iterator[TaskDelivery | None]:
    """Hold the delivery's row lock while the side effect runs; yields None if already done.

    A second copy of the same task (redelivered while the first still runs) waits on the lock
    and then sees the delivery succeeded. The effect and the "succeeded" mark commit together.
    The task keeps its tenant schema: the table is in public, which every search path includes.
    """
    with transaction.atomic():
        delivery = TaskDelivery.objects.select_for_update().filter(id=delivery_id).first()
        if delivery is None or delivery.state == TaskDelivery.State.SUCCEEDED:
            yield None
            return
        yield delivery
        delivery.state = TaskDelivery.State.SUCCEEDED
        delivery.completed_at = timezone.now()
        delivery.attempts += 1
        delivery.last_error = ""
        delivery.save(update_fields=["state", "completed_at", "attempts", "last_error", "updated_at"])
        logger.info("delivery succeeded", delivery=delivery.key, task_name=delivery.task_name)


def delivery_retry(*, delivery: TaskDelivery) -> TaskDelivery:
    """Staff action: send a dead (or stuck pending) delivery again."""
    if delivery.state == TaskDelivery.State.SUCCEEDED:
        raise ValueError("This delivery already succeeded.")
    with schema_context("public"):
        TaskDelivery.objects.filter(id=delivery.id).update(
            state=TaskDelivery.State.PENDING, last_error="", updated_at=timezone.now()
        )
    delivery.refresh_from_db()
    _send(delivery)
    return delivery
