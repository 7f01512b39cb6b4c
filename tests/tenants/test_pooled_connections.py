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
import json, sys
import django
django.setup()
from django.db import close_old_connections, connection, transaction
from django.test import Client
from django_tenants.utils import schema_context
from accounts.models import User

first_host, second_host, second_schema, email = sys.argv[1:5]
user = User.objects.get(email=email)
clients = {host: Client(HTTP_HOST=host) for host in (first_host, second_host)}
for client in clients.values():
    client.force_login(user)

def request(host):
    close_old_connections()  # what request_started does: the connection goes back to the pool
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    # Not CaptureQueriesContext: it would borrow the connection before the request does.
    with connection.execute_wrapper(record):
        status = clients[host].get("/").status_code
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('search_path')")
            path = cursor.fetchone()[0]
    sets = [sql for sql in statements if sql.startswith("SET search_path")]
    return {"status": status, "sets": len(sets), "path": path}

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
    assert [o["status"] for o in observed] == [200] * 6
    assert [o["path"] for o in observed] == [first_path, first_path, second_path, second_path,
                                             first_path, second_path]  # fmt: skip
    # One SET per move between schemas, none while the borrowed connection already has it,
    # and one again after a rollback may have undone the last one. (The first request may
    # also set public's path for the host lookup: logging in wrote the session in a
    # transaction, whose SET is not trusted.)
    assert observed[0]["sets"] >= 1
    assert [o["sets"] for o in observed[1:]] == [0, 1, 0, 1, 1]
