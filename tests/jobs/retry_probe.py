"""A task on the project's base class (config/celery.py's task_cls) that retries once.

Only the worker tests/jobs/test_tasking.py starts imports it (`--include`); the app never does.
Each run records where it ran: the schema header it received, the schema django-tenants set
on the connection and PostgreSQL's own `current_schema()`. `switch_to` retries from inside
`schema_context(switch_to)`, as code that stepped into another schema for a lookup would.
"""

from __future__ import annotations

import json
from typing import Any

import redis
from celery import shared_task
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from saas.tasking import message_schema


@shared_task(bind=True, name="tests.retry_probe", ignore_result=True, max_retries=1)
def retry_probe(self: Any, *, record_key: str, switch_to: str = "") -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (database_schema,) = cursor.fetchone()
    run = {
        "retries": self.request.retries,
        "header": message_schema(self),
        "connection": connection.schema_name,  # type: ignore[attr-defined]  # django-tenants
        "database": database_schema,
    }
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.rpush(record_key, json.dumps(run))
    finally:
        client.close()
    if self.request.retries == 0:
        if switch_to:
            with schema_context(switch_to):
                raise self.retry(countdown=0)
        raise self.retry(countdown=0)
