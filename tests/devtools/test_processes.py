"""devtools.processes: the Procfile read as a platform reads it, and the bounded wait."""

from __future__ import annotations

import pytest

from devtools.processes import (
    VENV_BIN,
    NotReady,
    free_port,
    option_set,
    port_is_free,
    procfile_command,
    wait_until,
)


@pytest.fixture
def procfile(tmp_path):
    path = tmp_path / "Procfile"
    path.write_text(
        "web: POOL=${POOL:-8} uvicorn app:application --host 0.0.0.0 --port ${PORT:-8000} --no-access-log\n"
        "worker: celery -A config worker --concurrency $WORKERS --loglevel INFO\n"
    )
    return path


def test_a_role_is_expanded_like_a_shell_expands_it(procfile):
    argv, assigned = procfile_command("web", {"PORT": "9001"}, procfile=procfile)

    assert argv == [
        str(VENV_BIN / "uvicorn"),
        "app:application",
        "--host",
        "0.0.0.0",  # noqa: S104 - the Procfile's text, not a bind
        "--port",
        "9001",
        "--no-access-log",
    ]
    assert assigned == {"POOL": "8"}  # unset: the default
    argv, assigned = procfile_command("web", {"POOL": "", "PORT": "1"}, procfile=procfile)
    assert assigned == {"POOL": "8"}  # empty counts as unset, as with `:-`
    argv, _ = procfile_command("worker", {"WORKERS": "3"}, procfile=procfile)
    assert argv[argv.index("--concurrency") + 1] == "3"


def test_an_unknown_role_is_an_error(procfile):
    with pytest.raises(LookupError, match="no role 'beat'"):
        procfile_command("beat", {}, procfile=procfile)


def test_the_projects_procfile_has_every_role_the_tools_start():
    for role, program in (("web", "gunicorn"), ("ws", "uvicorn"), ("worker", "celery"), ("beat", "celery")):
        argv, _ = procfile_command(role, {})
        assert argv[0].endswith(program)
    web, _ = procfile_command("web", {"PORT": "8123"})
    assert web[web.index("--bind") + 1] == "0.0.0.0:8123"
    ws, assigned = procfile_command("ws", {"DB_POOL_MAX_SIZE": "4", "PORT": "8123"})
    assert assigned["DB_POOL_MAX_SIZE"] == "4"
    assert ws[ws.index("--port") + 1] == "8123"


def test_option_set_replaces_a_value_keeps_flags_and_appends_what_is_missing():
    argv = ["uvicorn", "--host", "0.0.0.0", "--no-access-log", "--lifespan", "off"]  # noqa: S104

    assert option_set(argv, "--host", "127.0.0.1") == [
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--no-access-log",
        "--lifespan",
        "off",
    ]
    assert option_set(argv, "-Q", "q1")[-2:] == ["-Q", "q1"]
    assert option_set(argv, "--no-access-log") == argv


def test_free_port_is_free_and_wait_until_is_bounded():
    port = free_port()
    assert port_is_free(port)
    assert wait_until(lambda: 42, timeout=1) == 42
    with pytest.raises(NotReady, match="waiting for nothing"):
        wait_until(lambda: None, timeout=0.1, message="nothing")
