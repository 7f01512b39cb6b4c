from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from saas.events import DomainEvent, Envelope, outbox_dispatch, outbox_sweep
from saas.models import OutboxEvent
from saas.signals import InvitationChanged, UserSignedUp, user_signed_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    calls = []

    def receiver(event: Envelope[UserSignedUp]) -> None:
        calls.append((event.id, event.payload, event.tenant_schema))

    user_signed_up.connect(receiver, dispatch_uid="test.heard")
    yield calls
    user_signed_up.disconnect(dispatch_uid="test.heard")


@pytest.fixture
def failing_receiver():
    state = {"fail": True}

    def receiver(event: Envelope[UserSignedUp]) -> None:
        if state["fail"]:
            raise ConnectionError("broker down")

    user_signed_up.connect(receiver, dispatch_uid="test.failing")
    yield state
    user_signed_up.disconnect(dispatch_uid="test.failing")


def signed_up(user_id: int) -> UserSignedUp:
    return UserSignedUp(user_id=user_id, tenant_id=1)


@pytest.mark.django_db(transaction=True)
def test_publish_needs_the_callers_transaction():
    with pytest.raises(RuntimeError):
        user_signed_up.publish(signed_up(1))


def test_a_payload_of_another_type_is_refused():
    with transaction.atomic(), pytest.raises(TypeError, match="takes a UserSignedUp"):
        user_signed_up.publish(InvitationChanged(invitation_id=1, tenant_id=1))  # type: ignore[arg-type]


def test_an_event_is_declared_once():
    with pytest.raises(ValueError, match="declared twice"):
        DomainEvent("user.signed_up", UserSignedUp)


def test_dispatched_once_after_commit(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = user_signed_up.publish(signed_up(7))
        assert heard == []  # nothing leaves before commit
    assert heard == [(str(event.id), signed_up(7), "public")]
    assert isinstance(heard[0][1], UserSignedUp)  # receivers get typed fields, not a dict
    event.refresh_from_db()
    assert event.payload == {"user_id": 7, "tenant_id": 1}
    assert event.state == OutboxEvent.State.DISPATCHED
    assert event.attempts == 1
    assert outbox_sweep() == 0
    assert len(heard) == 1


def test_envelope_keys_name_one_side_effect_of_one_event():
    envelope = Envelope(id="e1", name="user.signed_up", tenant_schema="t_a", payload=signed_up(1))
    assert envelope.key("welcome_email") == "e1:welcome_email"


def test_rollback_leaves_no_event_and_no_dispatch(heard, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError, match="boom"),
        transaction.atomic(),
    ):
        user_signed_up.publish(signed_up(8))
        raise RuntimeError("boom")
    assert callbacks == []
    assert heard == []
    assert not OutboxEvent.objects.exists()


def test_failing_receiver_keeps_event_pending_for_the_sweeper(
    heard, failing_receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = user_signed_up.publish(signed_up(9))
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


@pytest.mark.parametrize(
    ("name", "payload", "error"),
    [
        ("user.sined_up", {"user_id": 1, "tenant_id": 1}, "no event 'user.sined_up' is declared"),
        ("user.signed_up", {"user_id": 1}, "tenant_id"),
        ("user.signed_up", {"user_id": 1, "tenant_id": 1, "extra": 2}, "extra"),
    ],
)
def test_a_row_that_can_never_dispatch_is_marked_failed_not_retried(heard, name, payload, error):
    event = OutboxEvent.objects.create(name=name, payload=payload)
    assert outbox_dispatch(event_id=event.id) is False
    event.refresh_from_db()
    assert event.state == OutboxEvent.State.FAILED
    assert error in event.last_error
    assert heard == []
    OutboxEvent.objects.filter(id=event.id).update(created_at=timezone.now() - timedelta(hours=1))
    assert outbox_sweep() == 0  # the sweeper leaves it alone; staff see it in the admin
