"""`make dev`'s runner from a clean var directory: embedded services, pages, clean Ctrl-C."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.models import Membership, User
from devtools import DEMO_ADMIN_EMAIL, DEMO_OWNER_EMAIL, DEMO_SLUG
from devtools.processes import free_port
from devtools.seed.demo import demo_seed, demo_seed_report
from tenants.models import Tenant

REPO_DIR = Path(__file__).resolve().parents[1]
# A clean var directory migrates from scratch; dj-stripe's migrations alone take ~55 s of CPU
# per schema (public and the tenant template) on a small machine.
READY_WITHIN_SECONDS = 300
STOPPED_WITHIN_SECONDS = 60


def _runner_environment(var_dir: Path) -> dict[str, str]:
    """Our environment without the service URLs and without what pytest put in it."""
    dropped = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SAAS_ENVIRONMENT"}
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith("PYTEST_")
    }
    env["SAAS_VAR_DIR"] = str(var_dir)
    return env


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _postmaster(var_dir: Path) -> psutil.Process | None:
    pid_file = var_dir / "pg" / "postmaster.pid"
    if not pid_file.exists():
        return None
    try:
        return psutil.Process(int(pid_file.read_text().splitlines()[0]))
    except (psutil.NoSuchProcess, ValueError, IndexError):
        return None


def _wait_until_healthy(url: str, runner: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if runner.poll() is not None:
            pytest.fail(f"the runner exited with {runner.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"/healthz did not answer within {READY_WITHIN_SECONDS}s:\n{log.read_text()[-4000:]}")


@pytest.mark.e2e
@pytest.mark.timeout(READY_WITHIN_SECONDS + STOPPED_WITHIN_SECONDS + 60)
def test_dev_runner_serves_the_demo_and_stops_cleanly_on_ctrl_c(tmp_path):
    var_dir, log = tmp_path / "var", tmp_path / "runner.log"
    port = free_port()
    with log.open("wb") as output:
        runner = subprocess.Popen(
            [sys.executable, "-m", "devtools", "run", "--port", str(port)],
            cwd=REPO_DIR,
            env=_runner_environment(var_dir),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    seen: list[psutil.Process] = []
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_healthy(f"{base}/healthz", runner, log)
        seen = psutil.Process(runner.pid).children(recursive=True)
        postmaster = _postmaster(var_dir)
        assert postmaster is not None and _alive(postmaster), "embedded PostgreSQL is not running"
        seen.append(postmaster)
        assert {"uvicorn", "worker", "beat", "redis-server"} <= {
            word for p in seen for word in " ".join(p.cmdline()).replace("/", " ").split()
        }

        landing = httpx.get(f"{base}/", headers={"Host": f"localhost:{port}"})
        assert landing.status_code == 200
        assert b"isolated by design" in landing.content
        demo = httpx.get(f"{base}/", headers={"Host": f"{DEMO_SLUG}.localhost:{port}"})
        assert demo.status_code == 302, demo.text[:500]  # anonymous: off to log in, not a 404
        assert demo.headers["location"].startswith(f"http://localhost:{port}/login/")
        unknown = httpx.get(f"{base}/", headers={"Host": f"nobody.localhost:{port}"})
        assert unknown.status_code == 404

        runner.send_signal(signal.SIGINT)
        assert runner.wait(STOPPED_WITHIN_SECONDS) == 0, log.read_text()[-4000:]
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in seen) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [" ".join(p.cmdline()) for p in seen if _alive(p)]
        assert not left, f"still running after the runner exited: {left}"
        assert "stopped embedded PostgreSQL" in log.read_text()
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        for process in seen:
            if _alive(process):
                process.kill()


def test_seed_demo_is_idempotent(db):
    first = demo_seed(password="a-test-password")
    demo_seed_report(first, password="a-test-password", out=io.StringIO())
    second = io.StringIO()
    demo_seed_report(demo_seed(password="another-password"), password="another-password", out=second)

    assert len(first.created) == 2
    assert "nothing created" in second.getvalue()

    tenant = Tenant.objects.get(slug=DEMO_SLUG)
    assert tenant.domains.get(is_primary=True).domain == f"{DEMO_SLUG}.localhost"
    owner = User.objects.get(email=DEMO_OWNER_EMAIL)
    assert Membership.objects.filter(user=owner, tenant=tenant, role=Membership.Role.OWNER).count() == 1
    admin = User.objects.get(email=DEMO_ADMIN_EMAIL)
    assert admin.is_staff and admin.is_superuser
    assert admin.check_password("a-test-password")  # the second run changed nothing
    assert User.objects.filter(email__in=[DEMO_OWNER_EMAIL, DEMO_ADMIN_EMAIL]).count() == 2


def test_a_service_that_is_down_gets_one_clear_sentence():
    closed_port = free_port()
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port}/saas"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "devtools", "migrate"],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == (
        f"dev: PostgreSQL at 127.0.0.1:{closed_port} refused the connection: start it, "
        "or unset DATABASE_URL to use the embedded one."
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_the_demo_seed_refuses_to_run_in_production(db, settings):
    settings.IS_PRODUCTION = True
    with pytest.raises(ImproperlyConfigured, match="never runs in production"):
        demo_seed(password="a-test-password")
    assert not User.objects.filter(email__in=[DEMO_OWNER_EMAIL, DEMO_ADMIN_EMAIL]).exists()
    assert not Tenant.objects.filter(slug=DEMO_SLUG).exists()
