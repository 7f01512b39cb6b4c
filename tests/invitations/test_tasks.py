"""The beat task (expiry, reminders) and the email delivery task, run in this process."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from invitations.models import Invitation
from invitations.selectors import invitation_get_by_token
from invitations.services import invitation_revoke, invitations_expire_and_remind
from invitations.tasks import expire_and_remind, send_invitation_email
from saas.models import OutboxEvent, TaskDelivery
from tests.e2e.support.smtp import SmtpServer

pytestmark = pytest.mark.django_db


def payloads(name: str) -> list[int]:
    return [e.payload["invitation_id"] for e in OutboxEvent.objects.filter(name=name)]


def test_beat_expires_overdue_invitations_and_reminds_once(invite):
    now = timezone.now()
    overdue, _ = invite(email="overdue@example.com")
    due_soon, _ = invite(email="soon@example.com")
    fresh, _ = invite(email="fresh@example.com")
    just_issued_short, _ = invite(email="short@example.com")
    Invitation.objects.filter(pk=overdue.pk).update(expires_at=now - timedelta(minutes=1))
    Invitation.objects.filter(pk=due_soon.pk).update(
        issued_at=now - timedelta(days=6, hours=12), expires_at=now + timedelta(hours=12)
    )
    # Expires within a day but was issued moments ago (a short expiry setting): no reminder.
    Invitation.objects.filter(pk=just_issued_short.pk).update(expires_at=now + timedelta(hours=12))

    assert expire_and_remind.apply().get() == {"expired": 1, "reminded": 1}
    assert Invitation.objects.get(pk=overdue.pk).state == Invitation.State.EXPIRED
    assert payloads("invitation.expired") == [overdue.pk]
    assert payloads("invitation.reminder_due") == [due_soon.pk]
    assert Invitation.objects.get(pk=due_soon.pk).reminder_sent_at is not None
    assert Invitation.objects.get(pk=fresh.pk).state == Invitation.State.PENDING

    assert invitations_expire_and_remind() == {"expired": 0, "reminded": 0}  # idempotent
    assert len(payloads("invitation.reminder_due")) == 1


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()


def run_delivery(invitation: Invitation, kind: str) -> TaskDelivery:
    delivery = TaskDelivery.objects.create(
        key=f"test-{invitation.pk}-{kind}",
        task_name=send_invitation_email.name,
        tenant_schema=invitation.tenant.schema_name,
    )
    send_invitation_email.apply(
        kwargs={"delivery_id": delivery.pk, "invitation_id": invitation.pk, "kind": kind}
    )
    delivery.refresh_from_db()
    return delivery


@pytest.mark.parametrize("kind", ["invitation", "reminder"])
def test_the_email_carries_a_working_link(invite, org, smtp, kind):
    invitation, _ = invite()
    delivery = run_delivery(invitation, kind)
    assert delivery.state == TaskDelivery.State.SUCCEEDED
    [message] = smtp.wait_for(1, timeout=5)
    assert message["To"] == "new.person@example.com"
    assert org.name in message["Subject"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"/invitations/([A-Za-z0-9_-]{43})/", body)
    assert found is not None, body
    token = found.group(1)
    assert invitation_get_by_token(token=token) == invitation
    assert Invitation.objects.get(pk=invitation.pk).sent_at is not None

    send_invitation_email.apply(
        kwargs={"delivery_id": delivery.pk, "invitation_id": invitation.pk, "kind": kind}
    )
    assert len(smtp.messages) == 1  # a redelivered task sends nothing twice


def test_no_email_for_an_invitation_revoked_before_the_worker_ran(invite, owner, smtp):
    invitation, _ = invite()
    invitation_revoke(invitation=invitation, actor=owner)
    assert run_delivery(invitation, "invitation").state == TaskDelivery.State.SUCCEEDED
    assert smtp.messages == []
