"""With Django's connection pool, search_path is set only when a borrowed connection's differs.

Runs in a fresh process with tests/tenants/pool_settings.py (a one-connection pool), since a
pool cannot be switched on in this one. Between requests it calls close_old_connections(),
as Django's request_started/request_finished handlers do, which gives the connection back.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from accounts.models import User
from accounts.services import membership_create
from tests.conftest import host_of

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, os, sys, tempfile
import django
django.setup()
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.test import Client
from django_tenants.utils import schema_context
from psycopg.pq import Trace
from accounts.models import User

first_host, second_host, second_schema, email = sys.argv[1:5]
user = User.objects.get(email=email)
clients = {host: Client(HTTP_HOST=host) for host in (first_host, second_host)}
for client in clients.values():
    client.force_login(user)

# What the one physical connection sends, from libpq's protocol trace: Django's own query
# log does not show a SET sent in one query with a statement.
connection.ensure_connection()
pgconn = connection.connection.pgconn
trace = tempfile.TemporaryFile("w+")
pgconn.trace(os.dup(trace.fileno()))
pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)

def sent_since_last_call():
    pgconn.untrace()  # flushes
    trace.seek(0)
    queries = [line.split("\t", 3)[3] for line in trace if line.startswith("F\t") and "\tQuery\t" in line]
    trace.seek(0)
    trace.truncate()
    pgconn.trace(os.dup(trace.fileno()))
    pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
    return queries

def request(host):
    close_old_connections()  # what request_started does: the connection goes back to the pool
    sent_since_last_call()
    status = clients[host].get("/").status_code
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        path = cursor.fetchone()[0]
    assert connection.connection.pgconn is pgconn
    sets = [query for query in sent_since_last_call() if query.lstrip(' "').startswith("SET search_path")]
    alone = [query for query in sets if query.rstrip().rstrip('"').rstrip().endswith(";")]
    return {"status": status, "sets": len(sets), "alone": len(alone), "path": path}

observed = [request(host) for host in (first_host, first_host, second_host, second_host, first_host)]

# A path set inside a transaction that is rolled back must not be trusted afterwards: the
# session is back on the first tenant's path, so a request for the second must set its own.
close_old_connections()
try:
    with transaction.atomic(), schema_context(second_schema):
        connection.cursor().execute("SELECT 1")
        raise RuntimeError("roll back")
except RuntimeError:
    pass
observed.append(request(second_host))

# Nor a path sent with a statement that failed: its query's implicit transaction undid it.
observed.append(request(first_host))
close_old_connections()
with schema_context(second_schema):
    try:
        connection.cursor().execute("SELECT 1 / 0")
    except DatabaseError:
        pass
close_old_connections()
observed.append(request(second_host))
print(json.dumps(observed))
"""


@pytest.mark.django_db(transaction=True)
def test_pooled_connection_keeps_its_search_path_between_requests(committed_tenant):
    first, second = committed_tenant(), committed_tenant()
    user = User.objects.create_user("pooled@example.com", "pooled-password-123")
    membership_create(user=user, tenant=first, role="member")
    membership_create(user=user, tenant=second, role="member")
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.tenants.pool_settings",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT'] or 5432}/"
        f"{database['NAME']}",
        "LOG_LEVEL": "CRITICAL",
    }
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, host_of(first), host_of(second), second.schema_name, user.email],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    observed = json.loads(completed.stdout.strip().splitlines()[-1])

    first_path, second_path = f"{first.schema_name}, public", f"{second.schema_name}, public"
    assert [o["status"] for o in observed] == [200] * 8
    assert [o["path"] for o in observed] == [first_path, first_path, second_path, second_path,
                                             first_path, second_path, first_path, second_path]  # fmt: skip
    # One SET per move between schemas, none while the borrowed connection already has it,
    # and one again after a rollback or a failed statement may have undone the last one.
    # (The first request may also set public's path for the host lookup: logging in wrote
    # the session in a transaction, whose SET is not trusted.) Each travels in one query
    # with a statement, never alone.
    assert observed[0]["sets"] >= 1
    assert [o["sets"] for o in observed[1:]] == [0, 1, 0, 1, 1, 1, 1]
    assert [o["alone"] for o in observed] == [0] * 8
