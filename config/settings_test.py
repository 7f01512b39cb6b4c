"""Settings for the test suite: the regular settings with SAAS_ENVIRONMENT=test.

pytest-django loads this module; processes the tests start (ASGI server, Celery worker)
inherit DJANGO_SETTINGS_MODULE and so run with the same settings.
"""

import os
from urllib.parse import urlsplit, urlunsplit

# Forced, not defaulted: the dev runner gives its children SAAS_ENVIRONMENT=development, and
# these settings are the test suite's whatever the runner exported.
os.environ["SAAS_ENVIRONMENT"] = "test"


def _redis_url_for_worker(url: str, worker: str) -> str:
    """Each pytest-xdist worker gets a Redis database of its own (1..15): its cache keys,
    Celery queues and kombu's unacked-message bookkeeping never meet another worker's.
    Idempotent, so processes started by a worker (which inherit its variables) agree with it.
    """
    number = int(worker.removeprefix("gw") or 0)
    return urlunsplit(urlsplit(url)._replace(path=f"/{number % 15 + 1}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker:
    for _name in ("REDIS_URL", "CELERY_BROKER_URL"):
        if os.environ.get(_name, "").startswith("redis://"):
            os.environ[_name] = _redis_url_for_worker(os.environ[_name], _worker)
    os.environ.setdefault("REDIS_URL", _redis_url_for_worker("redis://127.0.0.1:6379/0", _worker))
    # Pub/sub channels belong to the server, not to a database: two workers' tenants of the
    # same schema name (t_org4 in each) heard each other's live messages (numbered by the
    # other worker's counters, so a gap and a snapshot instead of the message).
    os.environ.setdefault("CHANNEL_LAYER_PREFIX", f"saas-{_worker}:ws")

from config.settings import *  # noqa: E402,F403
