"""Redis stopped during sign-ups (issue 17, part 5): the web role and the worker use a
redis-server of the test's own (cache, sessions' cache, broker, channel layer), which is
stopped while people sign up and started again (empty, on the same port) afterwards.

No sign-up fails; every welcome email arrives exactly once after Redis returns, published by
the outbox sweep (the on-commit publish found no broker). The sweep runs as beat runs it: in a
process of the project's own with the same environment (`saas.outbox_sweep` is what beat
schedules).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from devtools.processes import REPO_DIR, wait_until
from saas.models import OutboxEvent
from tests.e2e.signup_helpers import assert_on_dashboard, new_identity, sign_up_through_the_form
from tests.e2e.support.client import BrowserClient
from tests.e2e.support.redis_server import RedisServer

pytestmark = pytest.mark.e2e

SIGN_UPS = 3
SWEEP = (
    "import django; django.setup()\nfrom saas.events import outbox_sweep\nprint('swept', outbox_sweep())\n"
)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def e2e_env_overrides(own_redis) -> dict[str, str | None]:
    return {
        "REDIS_URL": own_redis.url,
        "CELERY_BROKER_URL": own_redis.url,
        "SLACK_WEBHOOK_URL": None,
        "ANALYTICS_URL": None,
        "OUTBOX_SWEEP_GRACE_SECONDS": "0",
    }


def sweep(env: dict[str, str]) -> int:
    done = subprocess.run(
        [sys.executable, "-c", SWEEP], cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return int(done.stdout.split("swept", 1)[1])


def test_sign_ups_while_redis_is_stopped_all_succeed_and_each_email_arrives_once(
    e2e_env, own_redis, asgi_server, celery_worker, smtp_server
):
    own_redis.stop()
    addresses = []
    started = time.monotonic()
    for _ in range(SIGN_UPS):
        email, subdomain = new_identity("rd")
        response = sign_up_through_the_form(
            BrowserClient(asgi_server.port), asgi_server.url, email=email, subdomain=subdomain
        )
        assert_on_dashboard(response, subdomain=subdomain, email=email, port=asgi_server.port)
        addresses.append(email)
    took = time.monotonic() - started
    assert OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING).count() == SIGN_UPS
    time.sleep(1)
    assert smtp_server.messages == []

    own_redis.start()  # empty: whatever was queued in it is gone, the outbox is not
    assert sweep(dict(e2e_env)) == SIGN_UPS
    smtp_server.wait_for(SIGN_UPS, timeout=40)
    assert sweep(dict(e2e_env)) == 0
    time.sleep(3)  # a duplicate would arrive now
    assert sorted(str(m["To"]) for m in smtp_server.messages) == sorted(addresses)
    wait_until(
        lambda: not OutboxEvent.objects.exclude(state=OutboxEvent.State.DISPATCHED).exists(),
        timeout=10,
        message="every outbox event dispatched",
    )
    print(f"\nredis stopped: {SIGN_UPS} sign-ups in {took:.1f} s, {len(smtp_server.messages)} emails, 0 lost")
