"""Every role of the Procfile writes only JSON lines, from start to SIGTERM, supervisors and
banners included; a management command is one span, parent of its statements.

Each process runs as production does (devtools.processes: the Procfile's command), with
LOG_FORMAT=json and OTLP export to a loopback receiver; the servers run two workers, so the
supervisor (uvicorn's parent, gunicorn's arbiter) has lines of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devtools.processes import ManagedProcess, WebServer, free_port, procfile_command, wait_until
from devtools.telemetry_sink import TelemetrySink
from tests.e2e.support.processes import CeleryWorker, running
from tests.e2e.test_observability import CONTEXT_FIELDS, ancestors, json_lines, telemetry_sink

__all__ = ["telemetry_sink"]

pytestmark = pytest.mark.e2e

SPAN_KIND_INTERNAL, STATUS_ERROR = 1, 2


@pytest.fixture
def e2e_env_overrides(telemetry_sink: TelemetrySink) -> dict[str, str | None]:
    return {
        "LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": telemetry_sink.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }


def messages_of(process: ManagedProcess) -> list[str]:
    """The process's whole output as JSON lines (fails on any other line), their messages."""
    records = json_lines(process.log())
    for record in records:
        assert record.keys() >= CONTEXT_FIELDS, record
    return [record["message"] for record in records]


def test_the_worker_and_beat_write_only_json_lines_from_the_banner_to_the_warm_shutdown(
    e2e_env, request, tmp_path
):
    worker = CeleryWorker(e2e_env, queue=e2e_env["CELERY_QUEUE"], concurrency=1)
    argv, assigned = procfile_command("beat", {**e2e_env, "BEAT_SCHEDULE_FILE": str(tmp_path / "schedule")})
    beat = ManagedProcess("celery-beat", argv, {**e2e_env, **assigned})
    with running(worker, request), running(beat, request):
        beat.wait_ready(lambda: "beat: Starting..." in beat.log(), timeout=60, message="beat started")
    assert not worker.running() and not beat.running()
    assert worker.process is not None and worker.process.returncode == 0

    worker_messages = messages_of(worker)
    assert "celery worker starting" in worker_messages
    assert any(m.endswith(" ready.") for m in worker_messages), worker_messages
    assert worker_messages[-1] == "worker: Warm shutdown (MainProcess)", worker_messages
    beat_messages = messages_of(beat)
    assert beat_messages[0] == "celery beat starting", beat_messages


def test_the_worker_keeps_its_banner_in_the_console_format(e2e_env, request):
    worker = CeleryWorker({**e2e_env, "LOG_FORMAT": "console"}, queue=e2e_env["CELERY_QUEUE"])
    with running(worker, request):
        pass
    assert "[queues]" in worker.log()
    assert "worker: Warm shutdown (MainProcess)" in worker.log()


@pytest.mark.parametrize(
    ("role", "supervisor_lines"),
    [
        ("ws", ["Started parent process", "Waiting for child process", "Stopping parent process"]),
        ("web", ["Starting gunicorn", "Handling signal: term", "Shutting down: Master"]),
    ],
)
def test_a_server_with_two_workers_writes_only_json_lines_supervisor_included(
    e2e_env, request, role, supervisor_lines
):
    server = WebServer(e2e_env, port=free_port(), workers=2, name=role, role=role)
    with running(server, request):
        pass
    messages = messages_of(server)
    for expected in supervisor_lines:
        assert any(m.startswith(expected) for m in messages), (expected, messages)


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_management_command_is_one_span_over_its_statements_and_log_lines(e2e_env, telemetry_sink):
    done = _manage(
        e2e_env, "create_tenant", "spanco", "Span Co", "owner@spanco.example", "--password", "x9-Span-pw"
    )
    assert done.returncode == 0, done.stderr

    command = telemetry_sink.wait_for_span(
        lambda s: s.name == "manage.py create_tenant", message="the command's span"
    )
    assert command.kind == SPAN_KIND_INTERNAL and command.parent_span_id == ""
    assert command.attributes["django.command"] == "create_tenant"
    assert command.attributes["process.exit.code"] == 0 and command.status_code != STATUS_ERROR
    assert command.resource["service.name"] == "saas-manage"
    spans = [s for s in telemetry_sink.spans() if s.trace_id == command.trace_id]
    statements = [s for s in spans if s.attributes.get("db.system.name") == "postgresql"]
    assert len(statements) > 10, [s.name for s in spans]
    assert all(command in ancestors(s, spans) for s in statements)
    # Its log lines carry its trace (what the command writes for people is plain text).
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    inside = [r for r in records if r["trace_id"] == command.trace_id]
    assert [r["message"] for r in inside] == ["command finished"], records
    assert inside[0]["span_id"] == command.span_id and inside[0]["exit_code"] == 0
    assert records[0]["message"] == "tracing started" and records[0]["trace_id"] is None

    again = _manage(e2e_env, "create_tenant", "spanco", "Span Co", "owner@spanco.example")
    assert again.returncode == 1
    failed = telemetry_sink.wait_for_span(
        lambda s: s.name == "manage.py create_tenant" and s.trace_id != command.trace_id,
        message="the failed command's span",
    )
    assert failed.attributes["process.exit.code"] == 1 and failed.status_code == STATUS_ERROR


def test_interactive_commands_are_not_one_span(e2e_env, telemetry_sink):
    done = _manage(e2e_env, "shell", "-c", "from django.db import connection; connection.ensure_connection()")
    assert done.returncode == 0, done.stderr
    checked = _manage(e2e_env, "check")
    assert checked.returncode == 0, checked.stderr
    wait_until(
        lambda: any(s.name == "manage.py check" for s in telemetry_sink.spans()), timeout=20, message="check"
    )
    assert not [s for s in telemetry_sink.spans() if s.name.startswith("manage.py shell")]
