"""No query runs in another tenant's schema, whatever holds the connections (django-tenants #1112).

Many tenants, concurrent API reads and writes through gunicorn (the Procfile's web role, four
sync workers), with the connections held three ways:

- PgBouncer in transaction pooling mode (the Debian package, started here on a free loopback
  port with two server connections for everyone), DATABASE_POOLING=transaction;
- Django's psycopg pool (DB_POOL_MAX_SIZE);
- persistent connections (CONN_MAX_AGE).

Each tenant lists its projects and creates more; every answer must hold only that tenant's
projects, and afterwards every schema only its own tenant's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.services import membership_create
from api.services import api_key_create
from devtools.processes import REPO_DIR, ManagedProcess, WebServer, free_port
from projects.models import Project
from projects.services import project_create
from tenants.services import tenant_provision
from tests.e2e.support.processes import running

pytestmark = pytest.mark.e2e
TENANTS = 12
WRITES_PER_TENANT = 6
READS_PER_TENANT = 10


@pytest.fixture
def pgbouncer(e2e_env) -> Iterator[str]:
    """A PgBouncer in transaction mode in front of the test database: the URL through it."""
    if shutil.which("pgbouncer") is None and not Path("/usr/sbin/pgbouncer").exists():
        pytest.skip("pgbouncer is not installed (apt-get install -y pgbouncer)")
    database = urlsplit(e2e_env["DATABASE_URL"])
    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    directory.chmod(0o755)  # it drops root for `nobody`
    (directory / "users.txt").write_text(f'"{database.username or "postgres"}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={database.hostname} port={database.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/users.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 200
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
"""
    )
    for name in ("users.txt", "pgbouncer.ini"):
        (directory / name).chmod(0o644)
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    process = ManagedProcess("pgbouncer", [binary, "-u", "nobody", str(directory / "pgbouncer.ini")], {})
    process.start()
    url = urlunsplit(database._replace(netloc=f"{database.username or 'postgres'}@127.0.0.1:{port}"))

    def answers() -> bool:
        try:
            with psycopg.connect(url, connect_timeout=2) as connection:
                return connection.execute("SELECT 1").fetchone() == (1,)
        except psycopg.OperationalError:
            return False

    try:
        process.wait_ready(answers, timeout=20, message="PgBouncer answers")
        yield url
    finally:
        process.stop()
        shutil.rmtree(directory, ignore_errors=True)


def _organizations() -> list[tuple[str, str, str]]:
    """(slug, host, API key) per tenant, each with one project named after it."""
    made = []
    for _ in range(TENANTS):
        slug = f"cx{uuid.uuid4().hex[:8]}"
        tenant = tenant_provision(name=f"Conn {slug}", slug=slug)
        owner = User.objects.create_user(f"owner-{slug}@example.com", "owner-passphrase-long-73")
        membership_create(user=owner, tenant=tenant, role="owner")
        _, secret = api_key_create(tenant=tenant, actor=owner, name="conn", scopes=["projects:write"])
        with schema_context(tenant.schema_name):
            project_create(tenant=tenant, actor=owner, name=f"{slug} seed")
        made.append((slug, tenant.domains.get(is_primary=True).domain, secret))
    return made


def _names(body: Any) -> list[str]:
    rows = body["results"] if isinstance(body, dict) else body
    return [row["name"] for row in rows]


def _traffic(base_url: str, organizations: list[tuple[str, str, str]]) -> list[str]:
    """Interleaved reads and writes of every tenant from 16 threads; what went wrong."""
    problems: list[str] = []
    lock = threading.Lock()
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    def read(slug: str, host: str, secret: str) -> None:
        response = session().get(
            f"{base_url}/api/v1/projects/",
            params={"page_size": 100},
            headers={"Host": host, "Authorization": f"Bearer {secret}"},
            timeout=30,
        )
        names = _names(response.json()) if response.status_code == 200 else []
        foreign = [name for name in names if not name.startswith(f"{slug} ")]
        if response.status_code != 200 or foreign or not names:
            with lock:
                problems.append(f"{slug} read {response.status_code}: {foreign or response.text[:200]}")

    def write(slug: str, host: str, secret: str, number: int) -> None:
        response = session().post(
            f"{base_url}/api/v1/projects/",
            json={"name": f"{slug} {number}"},
            headers={"Host": host, "Authorization": f"Bearer {secret}"},
            timeout=30,
        )
        if response.status_code != 201:
            with lock:
                problems.append(f"{slug} write {response.status_code}: {response.text[:200]}")

    jobs: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
    for round_number in range(max(READS_PER_TENANT, WRITES_PER_TENANT)):
        for slug, host, secret in organizations:
            if round_number < READS_PER_TENANT:
                jobs.append((read, (slug, host, secret)))
            if round_number < WRITES_PER_TENANT:
                jobs.append((write, (slug, host, secret, round_number)))
    with ThreadPoolExecutor(max_workers=16) as pool:
        for future in [pool.submit(job, *args) for job, args in jobs]:
            future.result()
    return problems


def _every_schema_holds_only_its_own(organizations: list[tuple[str, str, str]]) -> None:
    from tenants.models import Tenant

    for slug, _, _ in organizations:
        with schema_context(Tenant.objects.get(slug=slug).schema_name):
            names = sorted(Project.objects.values_list("name", flat=True))
        assert names == sorted([f"{slug} seed", *(f"{slug} {n}" for n in range(WRITES_PER_TENANT))]), slug


def _gunicorn(env: dict[str, str]) -> WebServer:
    """The Procfile's web role with four sync workers: four client connections, interleaved."""
    return WebServer(env, port=int(env["E2E_WEB_PORT"]), workers=4, name="gunicorn", role="web")


CONNECTIONS = {
    "pgbouncer-transaction": {"DATABASE_POOLING": "transaction", "CONN_MAX_AGE": "60"},
    "django-pool": {"DB_POOL_MAX_SIZE": "3", "CONN_MAX_AGE": "0"},
    "persistent": {"CONN_MAX_AGE": "60"},
}


@pytest.mark.parametrize("holder", list(CONNECTIONS))
def test_concurrent_tenants_never_see_each_others_rows(holder, e2e_env, request):
    env = {
        **e2e_env,
        **CONNECTIONS[holder],
        "API_RATE_LIMIT_PER_CALLER": "100000/60",
        "API_RATE_LIMIT_PER_TENANT": "100000/60",
    }
    if holder == "pgbouncer-transaction":
        env["DATABASE_URL"] = request.getfixturevalue("pgbouncer")
    organizations = _organizations()
    server = _gunicorn(env)
    with running(server, request):
        problems = _traffic(f"http://127.0.0.1:{server.port}", organizations)
    assert problems == []
    _every_schema_holds_only_its_own(organizations)


def test_without_the_per_statement_search_path_pgbouncer_mixes_tenants(e2e_env, pgbouncer, request):
    """The control: the same traffic with the session-level SET does cross tenants.

    If this ever passes cleanly, the test above proves nothing about PgBouncer.
    """
    env = {
        **e2e_env,
        "DATABASE_URL": pgbouncer,
        "DATABASE_POOLING": "session",
        "CONN_MAX_AGE": "60",
        "API_RATE_LIMIT_PER_CALLER": "100000/60",
        "API_RATE_LIMIT_PER_TENANT": "100000/60",
    }
    organizations = _organizations()
    server = _gunicorn(env)
    with running(server, request):
        problems = _traffic(f"http://127.0.0.1:{server.port}", organizations)
    assert problems, "session-level search paths behind transaction pooling mixed nothing up"


def test_statement_pooling_is_refused():
    checked = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_DIR,
        env={**os.environ, "DATABASE_POOLING": "statement", "SAAS_ENVIRONMENT": "test"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode != 0
    assert "tenants.E001" in checked.stderr
