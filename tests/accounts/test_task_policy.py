"""The sign-up tasks' delivery policy: what is retried, how, and for how long."""

import smtplib

import pytest
import requests
from django.conf import settings

from accounts import tasks
from saas.deliveries import retry_backoff_seconds


@pytest.mark.parametrize("task", [tasks.send_welcome_email, tasks.analytics_ping, tasks.slack_notify])
def test_retry_policy(task):
    assert task.acks_late and task.reject_on_worker_lost
    # No count limit and no Celery backoff: saas.deliveries' deadline policy decides.
    assert task.max_retries is None
    assert not task.retry_backoff
    assert settings.TASK_RETRY_DEADLINE_SECONDS >= 24 * 3600
    for error in (smtplib.SMTPServerDisconnected, ConnectionRefusedError, requests.HTTPError):
        assert issubclass(error, task.autoretry_for)
    assert not issubclass(KeyError, task.autoretry_for)  # a bug is not retried: it goes dead


def test_backoff_is_full_jitter_under_a_capped_exponential(settings):
    settings.TASK_RETRY_BACKOFF_SECONDS = 2
    settings.TASK_RETRY_BACKOFF_MAX_SECONDS = 300
    for retries, ceiling in [(0, 2), (1, 4), (3, 16), (7, 256), (8, 300), (10_000, 300)]:
        waits = [retry_backoff_seconds(retries=retries) for _ in range(200)]
        assert all(0 <= wait <= ceiling for wait in waits), retries
        assert max(waits) > ceiling / 2  # spread over the whole range, not a fixed delay
