"""Without an explicit SAAS_ENVIRONMENT the process is production: DEBUG off, real secrets
required and named when missing (issue 9, item 3).

Each case starts a real process (`manage.py check`, a settings probe, the Procfile's web role)
with a controlled environment. Variables are set to "" rather than removed where a `.env` file
could otherwise supply them (the real environment wins over `.env`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.processes import free_port

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SECRET_NAMES = ("SECRET_KEY", "SAAS_BASE_DOMAIN", "DATABASE_URL", "REDIS_URL", "EMAIL_URL")
REAL_SECRETS = {
    "SECRET_KEY": "k3Q9-vX7pL2mZ8rT1yW4nB6cF0hJ5sD_aG3eR7uI9oP2lK4jH8gF6dS1aZ3xC5vB",
    "SAAS_BASE_DOMAIN": "saas.example.com",
    "DATABASE_URL": "postgres://app:pw@db.internal:5432/saas",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "EMAIL_URL": "smtp://mailer:pw@smtp.internal:587",
}
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'environment': s.ENVIRONMENT, 'debug': s.DEBUG, "
    "'secure_cookies': getattr(s, 'SESSION_COOKIE_SECURE', False), 'secret_key': s.SECRET_KEY}))"
)


def environment(**values: str | None) -> dict[str, str]:
    """Our environment without anything that configures Django, plus `values` (None removes)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DJANGO_SETTINGS_MODULE", "SAAS_ENVIRONMENT", "DEBUG", "STRIPE_SECRET_KEY"}
        and not name.startswith("PYTEST_")
    }
    env.update({name: "" for name in SECRET_NAMES})
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING"})
    for name, value in values.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def probe(env: dict[str, str]) -> dict:
    result = run([PYTHON, "-c", PROBE], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The ImproperlyConfigured line of a process that refused to start."""
    assert result.returncode != 0, f"started anyway:\n{result.stdout}\n{result.stderr}"
    line = next((ln for ln in result.stderr.splitlines() if ln.startswith("django.core.exceptions.")), "")
    assert line, result.stderr
    return line


def dotenv_sets_environment() -> bool:
    dotenv = REPO / ".env"
    return dotenv.exists() and re.search(r"^\s*SAAS_ENVIRONMENT\s*=", dotenv.read_text(), re.M) is not None


@pytest.mark.parametrize("unset", ["removed", "empty"])
def test_unset_environment_is_production_and_names_every_missing_secret(unset):
    if unset == "removed" and dotenv_sets_environment():
        pytest.skip(".env sets SAAS_ENVIRONMENT, so it cannot be unset here")
    env = environment(SAAS_ENVIRONMENT=None if unset == "removed" else "")

    line = refusal(run([PYTHON, "manage.py", "check"], env))

    for name in SECRET_NAMES:
        assert name in line, line


def test_published_development_key_is_refused_in_production():
    from config.settings import DEVELOPMENT_SECRET_KEY

    for key in (DEVELOPMENT_SECRET_KEY, "short-key", "a" * 60):
        env = environment(**{**REAL_SECRETS, "SECRET_KEY": key})
        line = refusal(run([PYTHON, "manage.py", "check"], env))
        assert "SECRET_KEY" in line, line


def test_production_with_real_secrets_starts_with_debug_off():
    settings = probe(environment(**REAL_SECRETS))

    assert settings == {
        "environment": "production",
        "debug": False,
        "secure_cookies": True,
        "secret_key": REAL_SECRETS["SECRET_KEY"],
    }


def test_debug_cannot_be_switched_on_in_production():
    line = refusal(run([PYTHON, "manage.py", "check"], environment(**REAL_SECRETS, DEBUG="true")))
    assert "DEBUG" in line, line


def test_stripe_without_its_webhook_secret_is_named():
    env = environment(**REAL_SECRETS, STRIPE_SECRET_KEY="sk_live_123", STRIPE_WEBHOOK_SECRET="")
    line = refusal(run([PYTHON, "manage.py", "check"], env))
    assert "STRIPE_WEBHOOK_SECRET" in line and "SECRET_KEY," not in line, line


@pytest.mark.parametrize(("name", "debug"), [("development", True), ("test", False)])
def test_explicit_development_and_test_run_without_secrets(name, debug):
    settings = probe(environment(SAAS_ENVIRONMENT=name))

    assert (settings["environment"], settings["debug"]) == (name, debug)
    assert settings["secure_cookies"] is False


def test_procfile_web_role_refuses_to_serve_without_secrets():
    """A deployment that follows the Procfile and sets nothing gets no server, not DEBUG."""
    web = next(line for line in (REPO / "Procfile").read_text().splitlines() if line.startswith("web:"))
    command = web.removeprefix("web:").strip()
    env = environment(SAAS_ENVIRONMENT=None, PORT=str(free_port()), WEB_CONCURRENCY="1")
    env["PATH"] = f"{Path(PYTHON).parent}{os.pathsep}{env.get('PATH', '')}"
    if dotenv_sets_environment():
        pytest.skip(".env sets SAAS_ENVIRONMENT, so it cannot be unset here")

    result = run(["bash", "-c", command], env)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr + result.stdout
