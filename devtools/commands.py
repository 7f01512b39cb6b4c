"""What `python -m devtools <command>` does; each returns the process exit status."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from devtools import DEMO_ADMIN_EMAIL, DEMO_OWNER_EMAIL, DEMO_PASSWORD, DEMO_SLUG
from devtools.databases import testdb_prepare, worker_count
from devtools.processes import (
    REPO_DIR,
    bind_loopback,
    option_set,
    port_is_free,
    procfile_command,
    url_answers,
)
from devtools.runner import Child, Supervisor
from devtools.services import ServiceError, Services, services_running, var_dir


def _environ(services: Services, **defaults: str) -> dict[str, str]:
    """The children's environment: ours, the service URLs, then defaults we do not override.

    Settings refuse to guess which environment they run in, and everything the runner starts
    is development unless the caller said otherwise (the tests say `test`).
    """
    env = {**os.environ, **services.environ()}
    for name, value in {"SAAS_ENVIRONMENT": "development", **defaults}.items():
        env.setdefault(name, value)
    return env


def _foreground(argv: list[str], env: dict[str, str]) -> int:
    """Run a command attached to the terminal and return its status.

    It shares our process group, so a Ctrl-C in the terminal reaches it directly (pytest then
    prints its summary, a shell stays usable); we ignore SIGINT meanwhile so that the services
    are stopped only after it has finished. SIGTERM is passed on.
    """
    process = subprocess.Popen(argv, cwd=REPO_DIR, env=env)  # noqa: S603 - our own commands
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    previous_term = signal.signal(signal.SIGTERM, lambda signum, _frame: process.send_signal(signum))
    try:
        return process.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)


def _manage(*args: str) -> list[str]:
    return [sys.executable, str(REPO_DIR / "manage.py"), *args]


def _release(env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The Procfile's release role (migrate_schemas): what a deployment runs before it serves."""
    argv, assigned = procfile_command("release", env)
    return argv, {**env, **assigned}


def command_migrate() -> int:
    with services_running() as services:
        return _foreground(*_release(_environ(services, LOG_FORMAT="console")))


def command_manage(args: list[str]) -> int:
    with services_running() as services:
        return _foreground(_manage(*args), _environ(services, LOG_FORMAT="console"))


def command_seed(args: list[str]) -> int:
    """The demo tenant and staff user (idempotent), args passed to `python -m devtools.seed`."""
    with services_running() as services:
        return _foreground(_seed(*args), _environ(services, LOG_FORMAT="console"))


def _seed(*args: str) -> list[str]:
    return [sys.executable, "-m", "devtools.seed", *args]


def command_test(args: list[str]) -> int:
    """pytest in parallel against the given or embedded services, args passed through."""
    args, workers = worker_count(args)
    recreate = "--create-db" in args
    with services_running() as services:
        env = _environ(services, SAAS_ENVIRONMENT="test")
        if workers is not None:
            # We make the databases (fresh ones with --create-db), so pytest must not.
            args = [arg for arg in args if arg != "--create-db"]
            testdb_prepare(database_url=services.database_url, workers=workers, recreate=recreate, env=env)
        return _foreground([sys.executable, "-m", "pytest", *args], env)


def command_bench(args: list[str]) -> int:
    """Every bench script (or the ones named) against the services; docs/benchmarks.md rewritten.

    `--quick` (or BENCH_QUICK=1) shortens every script; `--no-doc` leaves the document alone
    (naming scripts implies it, so a partial run never replaces the whole suite's figures).
    """
    from devtools.bench_suite import discover, run_suite

    quick = "--quick" in args or os.environ.get("BENCH_QUICK") == "1"
    names = [arg for arg in args if arg not in ("--quick", "--no-doc")]
    write = "--no-doc" not in args and not names
    # A script by path (bench/api.py) or by name (api).
    scripts = [
        Path(name) if name.endswith(".py") else REPO_DIR / "bench" / f"{name}.py" for name in names
    ] or discover(REPO_DIR / "bench")
    if not scripts:
        print("dev: no benchmarks in bench/ yet.", flush=True)
        return 0
    with services_running() as services:
        env = _environ(services, LOG_FORMAT="console", LOG_LEVEL="WARNING")
        doc = REPO_DIR / "docs" / "benchmarks.md" if write else None
        results = run_suite(scripts, env, repo=REPO_DIR, doc=doc, quick=quick)
    failed = [result.script for result in results if result.error and not result.skipped]
    if failed:
        print(f"dev: failed: {', '.join(failed)}", file=sys.stderr, flush=True)
    return 1 if failed else 0


def _reload_dirs() -> list[str]:
    """The runtime's Python packages (not .venv, var/, tests or tooling): what uvicorn should watch."""
    return sorted(
        str(path)
        for path in REPO_DIR.iterdir()
        if (path / "__init__.py").exists() and path.name not in {"tests", "bench", "devtools"}
    )


def _processes(port: int, reload: bool, env: dict[str, str]) -> list[Child]:
    """The Procfile's ws (serving pages and sockets on one port), worker and beat, on loopback.

    Production runs pages under gunicorn (`web`) and sockets under uvicorn (`ws`), routed by
    path at the load balancer; in development the ASGI server serves both (config/asgi.py
    routes HTTP to Django), so one port and one --reload cover everything.
    """
    web, web_env = procfile_command("ws", {**env, "PORT": str(port), "WS_CONCURRENCY": "1"})
    web = bind_loopback(web, port)
    if reload:
        web += ["--reload", *(arg for path in _reload_dirs() for arg in ("--reload-dir", path))]
    worker, worker_env = procfile_command("worker", env)
    beat, beat_env = procfile_command("beat", env)
    beat = option_set(beat, "--schedule", str(var_dir() / "celerybeat-schedule"))
    # Worker and beat log every task at INFO; in the console that buries the URLs and any
    # warning. DEV_CELERY_LOGLEVEL=INFO brings it back.
    celery_level = os.environ.get("DEV_CELERY_LOGLEVEL", "WARNING")
    worker = option_set(worker, "--loglevel", celery_level)
    beat = option_set(beat, "--loglevel", celery_level)
    return [
        Child("web", web, env=web_env),
        Child("worker", worker, env=worker_env),
        Child("beat", beat, env=beat_env),
    ]


def _announce_when_ready(port: int, started_at: float, stopping: threading.Event) -> None:
    base = os.environ.get("SAAS_BASE_DOMAIN", "localhost")
    password = os.environ.get("SAAS_DEV_PASSWORD", DEMO_PASSWORD)
    deadline = time.monotonic() + 180
    while not url_answers(f"http://127.0.0.1:{port}/healthz", timeout=2):
        if stopping.is_set() or time.monotonic() > deadline:
            return
        time.sleep(0.3)
    print(
        f"\n  Ready in {time.monotonic() - started_at:.1f}s.\n"
        f"  Public site  http://{base}:{port}/\n"
        f"  Demo tenant  http://{DEMO_SLUG}.{base}:{port}/   ({DEMO_OWNER_EMAIL} / {password})\n"
        f"  Admin        http://{base}:{port}/admin/   ({DEMO_ADMIN_EMAIL} / {password})\n"
        "  These credentials are for development only. Ctrl-C stops everything.\n",
        flush=True,
    )


def command_run(*, port: int, reload: bool) -> int:
    """Services, migrations, demo data, then web + worker + beat until Ctrl-C."""
    started_at = time.monotonic()
    if not port_is_free(port):
        raise ServiceError(
            f"Port {port} on 127.0.0.1 is already in use: stop whatever holds it, "
            "or choose another with `python -m devtools run --port N`."
        )
    with services_running() as services:
        env = _environ(services, LOG_FORMAT="console", SAAS_PUBLIC_PORT=str(port), PYTHONUNBUFFERED="1")
        for step, step_env in (_release(env), (_seed(), env)):
            status = _foreground(step, step_env)
            if status != 0:
                print(
                    f"dev: `{' '.join(step[1:])}` failed with status {status}; not starting.",
                    file=sys.stderr,
                    flush=True,
                )
                return status
        stopping = threading.Event()
        announcer = threading.Thread(
            target=_announce_when_ready, args=(port, started_at, stopping), daemon=True
        )
        supervisor = Supervisor(_processes(port, reload, env), env=env, cwd=str(REPO_DIR))
        try:
            status = supervisor.run(on_started=announcer.start)
        finally:
            stopping.set()
        if status != 0:
            print(
                "dev: a process died (its output is above); everything was stopped.",
                file=sys.stderr,
                flush=True,
            )
        return status
