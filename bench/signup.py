"""Sign-up benchmark: the HTTP form on a real uvicorn server, the welcome email at a real SMTP server.

    .venv/bin/python bench/signup.py [--signups 50] [--concurrency 4]

What it measures, on a throwaway database cloned from a migrated template database
(`saas_bench_template`, migrated once and kept; the clone is dropped at the end):

1. latency: `--signups` sequential sign-ups, each a GET of /signup/ (CSRF cookie) then the
   timed POST (user + Argon2 hash + tenant schema from the template + domain + membership +
   outbox row, commit, on-commit enqueue of the welcome email) up to its 302 answer;
2. email: time from the start of each POST to the welcome email arriving at an aiosmtpd
   server, through Redis and a separate Celery worker process;
3. throughput: `--signups` more sign-ups from `--concurrency` clients at once, per second.

Environment: DATABASE_URL (server to use; its database name is ignored) and REDIS_URL.
Targets (the peer it compares with, from the issue): median sign-up < 300 ms, email < 1 s.
The last line printed is JSON: {"signup_ms", "signup_p95_ms", "email_ms", "email_p95_ms", ...}.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import requests
from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TEMPLATE_DB = "saas_bench_template"
PASSWORD = "plum-orbit-lantern-97"
TARGET_SIGNUP_MS = 300
TARGET_EMAIL_MS = 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Inbox:
    """aiosmtpd handler: when each recipient's message arrived (monotonic clock)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        now = time.monotonic()
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.arrived.setdefault(rcpt.lower(), now)
        return "250 OK"


def admin_connection(server_url: str) -> psycopg.Connection:
    return psycopg.connect(
        with_database(server_url, "postgres").replace("postgres://", "postgresql://", 1), autocommit=True
    )


def prepare_database(server_url: str, env: dict[str, str]) -> str:
    """Clone a throwaway database from the migrated template (migrating the template first)."""
    with admin_connection(server_url) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [TEMPLATE_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    print(f"migrating {TEMPLATE_DB} (slow only the first time) ...", flush=True)
    subprocess.run(
        [str(BIN / "python"), "manage.py", "migrate_schemas", "--noinput"],
        cwd=REPO,
        env={**env, "DATABASE_URL": with_database(server_url, TEMPLATE_DB)},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    name = f"saas_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin_connection(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    return name


def drop_database(server_url: str, name: str) -> None:
    with admin_connection(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


class SignUpClient:
    """One visitor: GET the form (CSRF cookie), POST it; requests go to 127.0.0.1 with a Host."""

    def __init__(self, port: int, host: str) -> None:
        self.port = port
        self.host = f"{host}:{port}"
        self.session = requests.Session()

    def sign_up(self, word: str) -> tuple[float, float]:
        """Returns (POST start on the monotonic clock, POST duration in ms)."""
        self.session.cookies.clear()
        url = f"http://127.0.0.1:{self.port}/signup/"
        page = self.session.get(url, headers={"Host": self.host}, timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert page.status_code == 200 and token, page.status_code
        started = time.monotonic()
        response = self.session.post(
            f"http://127.0.0.1:{self.port}/signup/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "email": f"{word}@example.com",
                "password": PASSWORD,
                "organization_name": f"Bench {word}",
                "subdomain": word,
                "website": "",
            },
            headers={
                "Host": self.host,
                "Origin": f"http://{self.host}",
                "Referer": f"http://{self.host}/signup/",
            },
            allow_redirects=False,
            timeout=30,
        )
        elapsed_ms = (time.monotonic() - started) * 1000
        if response.status_code != 302 or "/auth/handoff/" not in response.headers.get("Location", ""):
            location = response.headers.get("Location")
            raise SystemExit(f"sign-up failed: {response.status_code} {location} {response.text[:500]}")
        return started, elapsed_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--signups", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/saas")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    run_id = uuid.uuid4().hex[:8]
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SAAS_ENVIRONMENT": "test",  # DEBUG off, test secrets allowed
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    base_env.pop("PYTEST_XDIST_WORKER", None)
    database = prepare_database(server_url, base_env)
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    web_port = free_port()
    queue = f"bench-signup-{run_id}"
    env = {
        **base_env,
        "DATABASE_URL": with_database(server_url, database),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "CELERY_QUEUE": queue,
        "CACHE_KEY_PREFIX": f"bench-{run_id}",
        "SAAS_PUBLIC_PORT": str(web_port),
        "SIGNUP_RATE_LIMIT": "100000/m/ip",
        "SLACK_WEBHOOK_URL": "",
        "ANALYTICS_URL": "",
    }
    logs = Path(tempfile.mkdtemp(prefix="bench-signup-"))
    web = start(
        [
            str(BIN / "uvicorn"),
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(web_port),
            "--workers",
            str(args.web_workers),
            "--no-access-log",
            "--lifespan",
            "off",
        ],
        env,
        logs / "web.log",
    )
    worker = start(
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "-Q",
            queue,
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        {**env, "LOG_LEVEL": "INFO"},  # the worker's "ready." line is logged at INFO
        logs / "worker.log",
    )
    try:

        def web_ready() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{web_port}/healthz", timeout=1).ok
            except requests.ConnectionError:
                return False

        wait_for(web_ready, 60, "uvicorn")
        worker_log = logs / "worker.log"
        wait_for(lambda: " ready." in worker_log.read_text(errors="replace"), 60, "the Celery worker")
        host = env.get("SAAS_BASE_DOMAIN", "localhost")
        client = SignUpClient(web_port, host)
        for _ in range(3 * args.web_workers):  # warm every web process (imports, template script cache)
            client.sign_up(f"warm{uuid.uuid4().hex[:8]}")

        latencies: list[float] = []
        starts: dict[str, float] = {}
        for _ in range(args.signups):
            word = f"b{uuid.uuid4().hex[:10]}"
            started, elapsed = client.sign_up(word)
            starts[f"{word}@example.com"] = started
            latencies.append(elapsed)
        wait_for(lambda: all(address in inbox.arrived for address in starts), 60, "every welcome email")
        email_ms = [(inbox.arrived[address] - started) * 1000 for address, started in starts.items()]

        # One client (cookie jar) per thread: a shared jar would mix visitors' sessions.
        local = threading.local()

        def concurrent_sign_up(word: str) -> float:
            if not hasattr(local, "client"):
                local.client = SignUpClient(web_port, host)
            return local.client.sign_up(word)[1]

        words = [f"c{uuid.uuid4().hex[:10]}" for _ in range(args.signups)]
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            concurrent_ms = list(pool.map(concurrent_sign_up, words))
        throughput = args.signups / (time.monotonic() - began)
    finally:
        stop(web)
        stop(worker)
        controller.stop()
        redis.Redis.from_url(redis_url).delete(queue)
        drop_database(server_url, database)

    result = {
        "signup_ms": round(statistics.median(latencies), 1),
        "signup_p95_ms": round(percentile(latencies, 0.95), 1),
        "email_ms": round(statistics.median(email_ms), 1),
        "email_p95_ms": round(percentile(email_ms, 0.95), 1),
        "signups_per_second": round(throughput, 1),
        "concurrent_signup_p95_ms": round(percentile(concurrent_ms, 0.95), 1),
    }
    print(
        f"sign-up POST, sequential, n={args.signups}: median {result['signup_ms']} ms, "
        f"p95 {result['signup_p95_ms']} ms, max {max(latencies):.1f} ms   "
        f"(target: median < {TARGET_SIGNUP_MS} ms)"
    )
    print(
        f"POST -> welcome email at SMTP: median {result['email_ms']} ms, p95 {result['email_p95_ms']} ms, "
        f"max {max(email_ms):.1f} ms   (target: median < {TARGET_EMAIL_MS} ms)"
    )
    print(
        f"throughput, {args.concurrency} concurrent clients, {args.web_workers} uvicorn workers, "
        f"n={args.signups}: {result['signups_per_second']} sign-ups/s "
        f"(p95 {result['concurrent_signup_p95_ms']} ms)"
    )
    print(
        f"targets met: sign-up {'yes' if result['signup_ms'] < TARGET_SIGNUP_MS else 'NO'}, "
        f"email {'yes' if result['email_ms'] < TARGET_EMAIL_MS else 'NO'}  (logs: {logs})"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
