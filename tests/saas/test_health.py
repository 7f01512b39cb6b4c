"""/healthz and /readyz: answered on any host, naming the failing dependency."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from devtools.processes import free_port
from tenants.schema_template import quote, template_schema

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ["localhost", "nobody.example.com", "10.0.0.7", "bad host!"]


@pytest.mark.parametrize("host", HOSTS)
def test_liveness_answers_on_any_host_without_touching_the_database(db, host, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client(HTTP_HOST=host).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("host", HOSTS)
def test_readiness_is_ok_when_everything_is_up(db, host):
    response = Client(HTTP_HOST=host).get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "migrations": "ok", "tenant_template": "ok"},
    }


def test_readiness_names_redis_when_it_is_unreachable(db, settings):
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}
    }
    response = Client(HTTP_HOST="localhost").get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"].startswith("failing: ConnectionError")
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"


def test_readiness_names_the_tenant_template_when_it_is_missing(db):
    with connection.cursor() as cursor:  # undone with the test's transaction
        cursor.execute(
            f"ALTER SCHEMA {quote(template_schema())} RENAME TO {quote(template_schema() + '_gone')}"
        )
    response = Client(HTTP_HOST="localhost").get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["tenant_template"] == (
        "failing: RuntimeError: tenant template schema missing: run `manage.py migrate_schemas`"
    )
    assert checks["database"] == checks["redis"] == checks["migrations"] == "ok"


def readiness_in_a_new_process(**environment: str) -> tuple[int, dict]:
    """/readyz as a freshly started process answers it (readiness remembers past successes)."""
    code = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "response = Client(HTTP_HOST='localhost').get('/readyz')\n"
        "print(json.dumps([response.status_code, response.json()]))\n"
    )
    database = connection.settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://{credentials}@{database['HOST']}:{database['PORT'] or 5432}/"
        f"{database['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "CRITICAL",
        **environment,
    }
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    status, body = json.loads(completed.stdout.strip().splitlines()[-1])
    return status, body


@pytest.mark.django_db(transaction=True)
def test_readiness_names_migrations_when_one_is_not_applied():
    with connection.cursor() as cursor:
        cursor.execute(
            # The app's latest migration: an applied leaf hides nothing behind it.
            "DELETE FROM public.django_migrations WHERE id = (SELECT max(id) FROM public.django_migrations "
            "WHERE app = 'activity') RETURNING app, name, applied"
        )
        removed = cursor.fetchall()
    assert len(removed) == 1
    try:
        status, body = readiness_in_a_new_process()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO public.django_migrations (app, name, applied) VALUES (%s, %s, %s)",
                removed[0],
            )
    assert status == 503
    assert body["checks"]["migrations"] == (
        "failing: RuntimeError: 1 migrations not applied: run `manage.py migrate_schemas`"
    )
    assert body["checks"]["database"] == body["checks"]["redis"] == "ok"


def test_readiness_names_the_database_when_it_is_unreachable(db):
    status, body = readiness_in_a_new_process(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nothing"
    )
    assert status == 503
    assert body["checks"]["database"].startswith("failing: OperationalError")
    assert body["checks"]["redis"] == "ok"
