"""The sign-up flow end to end: uvicorn, a Celery worker, aiosmtpd and an HTTP sink.

Every check is what a person or an outside party would see: the page reached, the email in
the SMTP server's inbox, the JSON at the Slack / analytics endpoints.
"""

import time

import pytest
from django.db import connection
from django.test import override_settings

from devtools.processes import free_port, wait_until
from saas.events import outbox_sweep
from saas.models import OutboxEvent, TaskDelivery
from tests.e2e.signup_helpers import assert_on_dashboard, new_identity, sign_up_through_the_form

pytestmark = pytest.mark.e2e


def organization_url(subdomain: str, port: int) -> str:
    return f"http://{subdomain}.localhost:{port}/"


def assert_one_welcome_email(smtp_server, *, email: str, subdomain: str, port: int, settle: float = 1.5):
    messages = smtp_server.wait_for(1, timeout=20)
    time.sleep(settle)  # a duplicate would arrive now
    assert len(smtp_server.messages) == 1, [m["To"] for m in smtp_server.messages]
    message = messages[0]
    assert message["To"] == email
    assert "is ready" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert organization_url(subdomain, port) in text
    assert organization_url(subdomain, port) in html


def test_sign_up_lands_on_the_dashboard_and_everyone_hears_once(
    asgi_server, celery_worker, smtp_server, http_sink, browser_client
):
    email, subdomain = new_identity()
    response = sign_up_through_the_form(browser_client, asgi_server.url, email=email, subdomain=subdomain)
    assert_on_dashboard(response, subdomain=subdomain, email=email, port=asgi_server.port)
    assert any("/auth/handoff/" in step for step in browser_client.history)

    assert_one_welcome_email(smtp_server, email=email, subdomain=subdomain, port=asgi_server.port)
    [analytics] = http_sink.wait_for("/analytics")
    assert analytics["event"] == "user.signed_up" and analytics["event_id"]
    [slack] = http_sink.wait_for("/slack")
    assert email in slack["text"] and organization_url(subdomain, asgi_server.port) in slack["text"]
    states = set(TaskDelivery.objects.values_list("state", flat=True))
    assert states == {TaskDelivery.State.SUCCEEDED}
    assert OutboxEvent.objects.get().state == OutboxEvent.State.DISPATCHED


def test_smtp_down_at_first_is_retried_with_backoff_and_delivered_once(
    asgi_server, celery_worker, smtp_server, browser_client
):
    smtp_server.stop()
    email, subdomain = new_identity("retry")
    response = sign_up_through_the_form(browser_client, asgi_server.url, email=email, subdomain=subdomain)
    assert_on_dashboard(response, subdomain=subdomain, email=email, port=asgi_server.port)

    def failed_attempt():
        return TaskDelivery.objects.filter(
            key__endswith=":welcome_email", attempts__gte=2, state=TaskDelivery.State.PENDING
        ).first()

    delivery = wait_until(failed_attempt, timeout=20, message="two failed SMTP attempts")
    assert "Connection refused" in delivery.last_error or "ConnectionRefused" in delivery.last_error
    assert smtp_server.messages == []
    smtp_server.start()
    assert_one_welcome_email(smtp_server, email=email, subdomain=subdomain, port=asgi_server.port)
    delivery.refresh_from_db()
    assert delivery.state == TaskDelivery.State.SUCCEEDED
    assert delivery.attempts >= 3  # two failures recorded, then the success
    assert "Retry in" in celery_worker.log()  # Celery's own log of the backoff


def test_broker_down_during_sign_up_then_the_sweeper_publishes(
    asgi_server, celery_worker, smtp_server, browser_client
):
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    asgi_server.stop()
    asgi_server.start(CELERY_BROKER_URL=dead_broker)
    email, subdomain = new_identity("nobroker")
    started = time.monotonic()
    response = sign_up_through_the_form(browser_client, asgi_server.url, email=email, subdomain=subdomain)
    assert_on_dashboard(response, subdomain=subdomain, email=email, port=asgi_server.port)
    assert time.monotonic() - started < 10  # a dead broker fails fast, it does not hang sign-up

    event = OutboxEvent.objects.get()
    assert event.state == OutboxEvent.State.PENDING
    assert event.last_error  # why it is still pending
    # Once the broker refused the first receiver, the others did not wait on it again.
    assert "left for the sweeper" in event.last_error
    time.sleep(1.5)
    assert smtp_server.messages == []

    with override_settings(OUTBOX_SWEEP_GRACE_SECONDS=0):
        assert outbox_sweep() == 1  # this process's broker is up
    assert_one_welcome_email(smtp_server, email=email, subdomain=subdomain, port=asgi_server.port)
    event.refresh_from_db()
    assert event.state == OutboxEvent.State.DISPATCHED
    with override_settings(OUTBOX_SWEEP_GRACE_SECONDS=0):
        assert outbox_sweep() == 0
    time.sleep(1)
    assert len(smtp_server.messages) == 1


def test_failed_sign_up_enqueues_nothing_and_sends_nothing(
    asgi_server, celery_worker, smtp_server, browser_client
):
    email, subdomain = new_identity("fail")
    with connection.cursor() as cursor:  # a leftover schema makes provisioning fail for real
        cursor.execute(f'CREATE SCHEMA "t_{subdomain}"')
    response = sign_up_through_the_form(browser_client, asgi_server.url, email=email, subdomain=subdomain)
    assert response.status_code == 400
    assert "We could not create a workspace with this subdomain" in response.text
    time.sleep(2)
    assert smtp_server.messages == []
    assert not OutboxEvent.objects.exists()
    assert not TaskDelivery.objects.exists()


def test_a_failing_receiver_does_not_stop_the_email(
    asgi_server, celery_worker, smtp_server, http_sink, browser_client
):
    http_sink.failing.add("/slack")
    email, subdomain = new_identity("slackdown")
    response = sign_up_through_the_form(browser_client, asgi_server.url, email=email, subdomain=subdomain)
    assert_on_dashboard(response, subdomain=subdomain, email=email, port=asgi_server.port)
    assert_one_welcome_email(smtp_server, email=email, subdomain=subdomain, port=asgi_server.port)
    assert len(http_sink.wait_for("/analytics")) == 1
    http_sink.wait_for("/slack", count=2, accepted_only=False)  # tried, failed, retried
    slack = TaskDelivery.objects.get(key__endswith=":slack")
    assert slack.state == TaskDelivery.State.PENDING
    assert "500" in slack.last_error
