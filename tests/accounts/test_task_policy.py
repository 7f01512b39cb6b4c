"""The sign-up tasks' delivery policy: what is retried, how, and how often."""

import smtplib

import pytest
import requests
from django.conf import settings

from accounts import tasks


@pytest.mark.parametrize("task", [tasks.send_welcome_email, tasks.analytics_ping, tasks.slack_notify])
def test_retry_policy(task):
    assert task.acks_late and task.reject_on_worker_lost
    assert task.retry_jitter
    assert task.retry_backoff == settings.TASK_RETRY_BACKOFF_SECONDS
    assert task.retry_backoff_max == settings.TASK_RETRY_BACKOFF_MAX_SECONDS
    assert task.max_retries == settings.TASK_MAX_RETRIES
    for error in (smtplib.SMTPServerDisconnected, ConnectionRefusedError, requests.HTTPError):
        assert issubclass(error, task.autoretry_for)
    assert not issubclass(KeyError, task.autoretry_for)  # a bug is not retried: it goes dead
