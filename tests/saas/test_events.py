from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from saas.events import outbox_sweep, publish
from saas.models import OutboxEvent
from saas.signals import user_signed_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    calls = []

    def receiver(sender, event_id, payload, tenant_schema, **kwargs):
        calls.append((event_id, payload, tenant_schema))

    user_signed_up.connect(receiver, dispatch_uid="test.heard")
    yield calls
    user_signed_up.disconnect(dispatch_uid="test.heard")


@pytest.fixture
def failing_receiver():
    state = {"fail": True}

    def receiver(**kwargs):
        if state["fail"]:
            raise ConnectionError("broker down")

    user_signed_up.connect(receiver, dispatch_uid="test.failing")
    yield state
    user_signed_up.disconnect(dispatch_uid="test.failing")


@pytest.mark.django_db(transaction=True)
def test_publish_needs_the_callers_transaction():
    with pytest.raises(RuntimeError):
        publish("user.signed_up", {"user_id": 1})


def test_unknown_event_is_refused():
    with transaction.atomic(), pytest.raises(ValueError):
        publish("user.sined_up", {})


def test_dispatched_once_after_commit(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = publish("user.signed_up", {"user_id": 7})
        assert heard == []  # nothing leaves before commit
    assert heard == [(str(event.id), {"user_id": 7}, "public")]
    event.refresh_from_db()
    assert event.state == OutboxEvent.State.DISPATCHED
    assert event.attempts == 1
    assert outbox_sweep() == 0
    assert len(heard) == 1


def test_rollback_leaves_no_event_and_no_dispatch(heard, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError, match="boom"),
        transaction.atomic(),
    ):
        publish("user.signed_up", {"user_id": 8})
        raise RuntimeError("boom")
    assert callbacks == []
    assert heard == []
    assert not OutboxEvent.objects.exists()


def test_failing_receiver_keeps_event_pending_for_the_sweeper(
    heard, failing_receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = publish("user.signed_up", {"user_id": 9})
    event.refresh_from_db()
    assert event.state == OutboxEvent.State.PENDING
    assert "broker down" in event.last_error
    assert len(heard) == 1  # the other receiver still ran

    assert outbox_sweep() == 0  # too young: left to the relay of the process that wrote it
    OutboxEvent.objects.filter(id=event.id).update(
        created_at=timezone.now() - timedelta(seconds=2 * settings.OUTBOX_SWEEP_GRACE_SECONDS)
    )
    assert outbox_sweep() == 0  # still failing
    failing_receiver["fail"] = False
    assert outbox_sweep() == 1
    event.refresh_from_db()
    assert event.state == OutboxEvent.State.DISPATCHED
    assert event.attempts == 3
