"""Side effects retry by deadline, not by count (issue 9, item 16), with a real worker.

Shortened policy: 20 s deadline, waits drawn from 0.5 s doubling to a 2 s cap. With the old
count (8 retries) these waits span under 7 s on average, so a 10 s SMTP outage killed most
emails; now every one arrives, once, when the server is back. A channel that keeps failing
(Slack answering 500) is retried until its deadline and only then recorded dead.
"""

import time
from datetime import timedelta

import pytest

from accounts.services import user_sign_up
from devtools.processes import wait_until
from saas.models import TaskDelivery
from tests.e2e.signup_helpers import PASSWORD, new_identity

pytestmark = pytest.mark.e2e

DEADLINE = 20.0
OUTAGE = 10.0
SIGN_UPS = 4


@pytest.fixture
def e2e_env_overrides() -> dict[str, str | None]:
    return {
        "TASK_RETRY_DEADLINE_SECONDS": str(DEADLINE),
        "TASK_RETRY_BACKOFF_SECONDS": "0.5",
        "TASK_RETRY_BACKOFF_MAX_SECONDS": "2",
    }


def deliveries(channel: str) -> list[TaskDelivery]:
    return list(TaskDelivery.objects.filter(key__endswith=f":{channel}").order_by("id"))


def test_an_outage_longer_than_the_old_window_delivers_every_email_once_and_dead_waits_for_the_deadline(
    celery_worker, smtp_server, http_sink, settings
):
    settings.SLACK_WEBHOOK_URL = http_sink.url("/slack")  # the sign-ups below run here
    smtp_server.stop()
    http_sink.failing.add("/slack")
    outage_started = time.monotonic()
    addresses = []
    for _ in range(SIGN_UPS):
        email, subdomain = new_identity("outage")
        user_sign_up(
            email=email, password=PASSWORD, organization_name=f"Org {subdomain}", subdomain=subdomain
        )
        addresses.append(email)

    # The SMTP server stays down for the whole outage; every email is tried and kept pending.
    wait_until(
        lambda: (
            len(deliveries("welcome_email")) == SIGN_UPS
            and all(d.attempts >= 2 for d in deliveries("welcome_email"))
        ),
        timeout=OUTAGE,
        message="every welcome email to fail at least twice",
    )
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - outage_started)))
    welcome = deliveries("welcome_email")
    assert {d.state for d in welcome} == {TaskDelivery.State.PENDING}
    assert all("refused" in d.last_error.lower() for d in welcome), [d.last_error for d in welcome]

    smtp_server.start()
    smtp_server.wait_for(SIGN_UPS, timeout=10)
    time.sleep(1.5)  # a duplicate would arrive now
    assert sorted(str(m["To"]) for m in smtp_server.messages) == sorted(addresses)
    welcome = deliveries("welcome_email")
    assert {d.state for d in welcome} == {TaskDelivery.State.SUCCEEDED}
    assert min(d.attempts for d in welcome) >= 3  # failures during the outage, then the send

    # Slack answered 500 throughout: retried, still pending until its deadline, then dead.
    slack = deliveries("slack")
    assert len(slack) == SIGN_UPS
    assert {d.state for d in slack} == {TaskDelivery.State.PENDING}
    wait_until(
        lambda: all(d.state == TaskDelivery.State.DEAD for d in deliveries("slack")),
        timeout=DEADLINE + 10,
        interval=0.2,
        message="the Slack deliveries to be dead after their deadline",
    )
    for delivery in deliveries("slack"):
        assert delivery.updated_at - delivery.created_at >= timedelta(seconds=DEADLINE), delivery.key
        assert delivery.attempts >= 5
    assert http_sink.attempts("/slack") >= 5 * SIGN_UPS
    assert "delivery dead" in celery_worker.log()
