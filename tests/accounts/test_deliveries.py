"""user.signed_up -> independent deliveries; the tasks' effects, idempotence and dead state."""

import json
import re

import pytest
import redis
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import override_settings

from accounts import tasks
from accounts.services import user_sign_up
from devtools.processes import free_port
from saas.deliveries import delivery_enqueue
from saas.models import OutboxEvent, TaskDelivery
from saas.queues import queue_names
from tests.accounts.conftest import STRONG_PASSWORD, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_queue():
    """The real Redis queues this test process publishes to, emptied around the test."""
    queues = queue_names(prefix=settings.CELERY_QUEUE_PREFIX)
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(*queues)

    def messages() -> list[dict]:
        return [json.loads(raw)["headers"] for queue in queues for raw in client.lrange(queue, 0, -1)]

    yield messages
    client.delete(*queues)
    client.close()


def sign_up(word: str):
    return user_sign_up(
        email=f"{word}@example.com", password=STRONG_PASSWORD, organization_name=f"Org {word}", subdomain=word
    )


@override_settings(ANALYTICS_URL="http://127.0.0.1:9/a", SLACK_WEBHOOK_URL="http://127.0.0.1:9/s")
def test_after_commit_each_channel_gets_its_own_delivery(
    unique, broker_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = sign_up(unique("ev"))
    event = OutboxEvent.objects.get(payload__user_id=result.user.pk)
    assert event.state == OutboxEvent.State.DISPATCHED
    deliveries = {d.key: d for d in TaskDelivery.objects.filter(key__startswith=str(event.id))}
    assert set(deliveries) == {f"{event.id}:welcome_email", f"{event.id}:analytics", f"{event.id}:slack"}
    assert {d.tenant_schema for d in deliveries.values()} == {result.tenant.schema_name}
    queued = broker_queue()
    assert sorted(h["task"] for h in queued) == [
        "accounts.analytics_ping",
        "accounts.send_welcome_email",
        "accounts.slack_notify",
    ]
    assert {h.get("_schema_name") for h in queued} == {result.tenant.schema_name}


@override_settings(ANALYTICS_URL="", SLACK_WEBHOOK_URL="")
def test_unset_integrations_are_skipped(unique, broker_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(unique("off"))
    assert [h["task"] for h in broker_queue()] == ["accounts.send_welcome_email"]


def test_welcome_email_is_sent_once_with_the_organization_url(unique, broker_queue):
    word = unique("mail")
    result = sign_up(word)
    delivery = delivery_enqueue(
        tasks.send_welcome_email,
        key=f"test-{word}:welcome_email",
        tenant_schema=result.tenant.schema_name,
        user_id=result.user.pk,
        tenant_id=result.tenant.pk,
    )
    kwargs = {"delivery_id": delivery.pk, **delivery.task_kwargs}
    tasks.send_welcome_email.apply(kwargs=kwargs).get()
    tasks.send_welcome_email.apply(kwargs=kwargs).get()  # a redelivered copy
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    url = f"http://{word}.localhost:{settings.SAAS_PUBLIC_PORT}/"
    assert message.to == [f"{word}@example.com"]
    assert f"Org {word}" in message.subject
    assert url in message.body
    assert isinstance(message, EmailMultiAlternatives)
    html, mime = message.alternatives[0]
    assert isinstance(html, str)
    assert mime == "text/html" and url in html
    delivery.refresh_from_db()
    assert delivery.state == TaskDelivery.State.SUCCEEDED

    # The email also confirms the address, through allauth's page on the public host.
    link = re.search(r"http://localhost:\d+(/confirm-email/[^/\s]+/)", str(message.body))
    assert link and link.group(0) in html
    browser = client_for(settings.SAAS_BASE_DOMAIN)
    page = browser.get(link.group(1))
    assert page.status_code == 200 and "saas/app.css" in page.content.decode()
    assert browser.post(link.group(1)).status_code == 302
    assert EmailAddress.objects.get(user=result.user).verified


@override_settings(SLACK_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/closed")
def test_failing_channel_ends_dead_and_staff_can_retry_it_from_the_admin(unique, broker_queue, admin_client):
    result = sign_up(unique("dead"))
    delivery = TaskDelivery.objects.create(
        key="test-dead:slack",
        task_name=tasks.slack_notify.name,
        tenant_schema=result.tenant.schema_name,
        task_kwargs={"user_id": result.user.pk, "tenant_id": result.tenant.pk},
    )
    outcome = tasks.slack_notify.apply(kwargs={"delivery_id": delivery.pk, **delivery.task_kwargs})
    assert outcome.failed()
    delivery.refresh_from_db()
    assert delivery.state == TaskDelivery.State.DEAD
    # An eager run cannot wait out a backoff, so it does not retry (the deadline policy is
    # tested with a real worker in tests/e2e/test_delivery_deadline.py).
    assert delivery.attempts == 1
    assert "ConnectionError" in delivery.last_error

    admin_client.defaults["HTTP_HOST"] = settings.SAAS_BASE_DOMAIN
    listing = admin_client.get("/admin/saas/taskdelivery/?state=dead")
    assert listing.status_code == 200 and "test-dead:slack" in listing.content.decode()
    response = admin_client.post(
        "/admin/saas/taskdelivery/", {"action": "retry", "_selected_action": [delivery.pk]}, follow=True
    )
    assert "1 delivery(ies) sent again." in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.state == TaskDelivery.State.PENDING and delivery.last_error == ""
    queued = broker_queue()
    assert [h["task"] for h in queued] == ["accounts.slack_notify"]


def test_admin_lists_users_with_memberships_and_outbox_rows(unique, admin_client):
    result = sign_up(unique("adm"))
    admin_client.defaults["HTTP_HOST"] = settings.SAAS_BASE_DOMAIN
    page = admin_client.get(f"/admin/accounts/user/{result.user.pk}/change/").content.decode()
    assert result.tenant.name in page  # the membership inline
    assert admin_client.get("/admin/saas/outboxevent/").status_code == 200
