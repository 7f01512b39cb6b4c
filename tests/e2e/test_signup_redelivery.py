"""A worker killed (SIGKILL) while sending the welcome email: redelivered, sent once.

The broker's visibility timeout is short here so the unacknowledged message comes back
within seconds rather than an hour.
"""

import time

import pytest

from devtools.processes import wait_until
from saas.models import TaskDelivery
from tests.e2e.signup_helpers import assert_on_dashboard, new_identity, sign_up_through_the_form

pytestmark = pytest.mark.e2e

VISIBILITY_TIMEOUT = 5


@pytest.fixture
def e2e_env_overrides():
    return {
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "CELERY_UNACKED_RESTORE_THROTTLE": "1",
        # The visibility timeout must exceed every hard time limit (config/settings.py checks).
        "CELERY_TASK_SOFT_TIME_LIMIT": "3",
        "CELERY_TASK_TIME_LIMIT": "4",
        "JOB_SOFT_TIME_LIMIT_SECONDS": "3",
        "JOB_TIME_LIMIT_SECONDS": "4",
        "SLACK_WEBHOOK_URL": None,
        "ANALYTICS_URL": None,
    }


def test_worker_killed_mid_send_is_redelivered_and_sends_once(
    asgi_server, celery_worker, smtp_server, browser_client
):
    smtp_server.delay = 30  # the worker will be stuck waiting for "250" when it dies
    email, subdomain = new_identity("kill")
    response = sign_up_through_the_form(browser_client, asgi_server.url, email=email, subdomain=subdomain)
    assert_on_dashboard(response, subdomain=subdomain, email=email, port=asgi_server.port)

    wait_until(lambda: smtp_server.data_started >= 1, timeout=20, message="the worker to be mid-send")
    celery_worker.kill()
    killed_at = time.monotonic()
    wait_until(
        lambda: smtp_server.abandoned >= 1, timeout=10, message="the SMTP server to drop the dead client"
    )
    smtp_server.delay = 0
    assert smtp_server.messages == []  # the killed worker's message was never accepted

    celery_worker.start()
    messages = smtp_server.wait_for(1, timeout=40)
    assert time.monotonic() - killed_at >= VISIBILITY_TIMEOUT - 1  # came back through the broker
    time.sleep(2)
    assert len(smtp_server.messages) == 1
    assert messages[0]["To"] == email
    text = messages[0].get_body(("plain",)).get_content()
    assert f"http://{subdomain}.localhost:{asgi_server.port}/" in text
    delivery = TaskDelivery.objects.get(key__endswith=":welcome_email")
    assert delivery.state == TaskDelivery.State.SUCCEEDED
