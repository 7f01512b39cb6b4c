"""Logs: one JSON object per line, each carrying the request id and the tenant schema."""

import json
import logging
import re
import sys
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from saas.observability import REQUEST_ID_HEADER, configure_logging
from tenants.schema_template import quote
from tests.conftest import host_of

REQUIRED_KEYS = {
    "timestamp",
    "level",
    "logger",
    "message",
    "request_id",
    "tenant_id",
    "user_id",
    "trace_id",
    "span_id",
}


class CurrentStdout:
    """Writes to whatever sys.stdout is at the time: pytest swaps it between test phases."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def stdout_handler() -> logging.StreamHandler:
    # type() rather than isinstance(): pytest's own capture handlers subclass StreamHandler.
    return next(h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler)


@pytest.fixture
def log_lines(capsys):
    """The lines written to stdout, each parsed as JSON (a line that is not JSON fails the test).

    Logging is configured again in production's format, its handler pointed at the stdout
    pytest captures (it resolved sys.stdout once, when settings loaded).
    """
    previous_stream = stdout_handler().stream
    configure_logging(level="INFO", fmt="json")
    stdout_handler().setStream(CurrentStdout())
    capsys.readouterr()

    def read() -> list[dict]:
        lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
        return [json.loads(line) for line in lines]

    yield read
    configure_logging(level=settings.LOG_LEVEL, fmt=settings.LOG_FORMAT)
    stdout_handler().setStream(previous_stream)


def assert_well_formed(records: list[dict], *, request_id: str, tenant: str) -> None:
    assert records, "the request logged nothing"
    for record in records:
        assert record.keys() >= REQUIRED_KEYS, record
        assert record["request_id"] == request_id
        assert record["tenant_id"] == tenant
        assert datetime.fromisoformat(record["timestamp"]).utcoffset() == timedelta(0)


def test_tenant_request_lines_carry_request_id_and_schema(tenant, member_of, log_lines):
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(member_of(tenant))
    response = client.get("/", HTTP_X_REQUEST_ID="req-0123456789abcdef")

    assert response.status_code == 200
    assert response[REQUEST_ID_HEADER] == "req-0123456789abcdef"
    records = log_lines()
    assert_well_formed(records, request_id="req-0123456789abcdef", tenant=tenant.schema_name)
    finished = records[-1]
    assert (finished["logger"], finished["level"], finished["message"]) == (
        "saas.request",
        "info",
        "request finished",
    )
    assert (finished["method"], finished["path"], finished["status"]) == ("GET", "/", 200)
    assert finished["duration_ms"] >= 0


def test_public_and_unknown_host_lines_say_public(db, log_lines):
    Client(HTTP_HOST=settings.SAAS_BASE_DOMAIN).get("/", HTTP_X_REQUEST_ID="public-request-1")
    assert_well_formed(log_lines(), request_id="public-request-1", tenant="public")

    response = Client(HTTP_HOST="nobody.example.com").get("/", HTTP_X_REQUEST_ID="unknown-host-1")
    assert response.status_code == 404
    records = log_lines()
    assert_well_formed(records, request_id="unknown-host-1", tenant="public")
    # Django's own "Not Found" warning (logged once the middleware has returned) is rendered
    # the same way, its arguments interpolated.
    assert [(r["logger"], r["level"], r["message"]) for r in records] == [
        ("saas.request", "info", "request finished"),
        ("django.request", "warning", "Not Found: /"),
    ]


def test_error_with_traceback_is_still_one_json_line(make_tenant, member_of, log_lines):
    tenant = make_tenant()
    member = member_of(tenant)
    client = Client(HTTP_HOST=host_of(tenant), raise_request_exception=False)
    client.force_login(member)
    client.get("/")  # warm the session cache: the failing request below needs no public query
    log_lines()
    with connection.cursor() as cursor:  # a tenant whose schema is gone (undone after the test)
        cursor.execute(f"DROP SCHEMA {quote(tenant.schema_name)} CASCADE")

    response = client.get("/", HTTP_X_REQUEST_ID="broken-request-1")

    assert response.status_code == 500
    records = log_lines()
    assert_well_formed(records, request_id="broken-request-1", tenant=tenant.schema_name)
    error = next(r for r in records if r["logger"] == "django.request")
    assert (error["level"], error["message"]) == ("error", "Internal Server Error: /")
    # A structured field: the chain of exceptions, each with its type, message and frames.
    exception = error["exception"]
    assert isinstance(exception, list), exception
    assert all({"exc_type", "exc_value", "frames"} <= cause.keys() for cause in exception)
    assert any(frame["filename"].endswith(".py") for frame in exception[0]["frames"])
    # The database's own error, whichever tenant table the dashboard reads first.
    assert any(re.search(r'relation "\w+" does not exist', cause["exc_value"]) for cause in exception), (
        exception
    )


def test_each_request_gets_its_own_id(tenant, log_lines):
    client = Client(HTTP_HOST=host_of(tenant))
    first, second = client.get("/"), client.get("/")
    ids = [first[REQUEST_ID_HEADER], second[REQUEST_ID_HEADER]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids)
    assert ids[0] != ids[1]
    records = log_lines()
    assert [r["request_id"] for r in records] == ids


@pytest.mark.parametrize(
    "incoming", ["short", "has spaces in it", "x" * 129, "semi;colon-1234", "<script>alert(1)</script>"]
)
def test_unsafe_incoming_request_id_is_replaced(db, log_lines, incoming):
    response = Client(HTTP_HOST=settings.SAAS_BASE_DOMAIN).get("/", HTTP_X_REQUEST_ID=incoming)
    request_id = response[REQUEST_ID_HEADER]
    assert request_id != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert [r["request_id"] for r in log_lines()] == [request_id]


def test_lines_after_the_request_do_not_carry_its_context(tenant, log_lines):
    Client(HTTP_HOST=host_of(tenant)).get("/", HTTP_X_REQUEST_ID="finished-request-1")
    logging.getLogger("saas.after").warning("outside any request")
    records = log_lines()
    assert records[0]["request_id"] == "finished-request-1"
    after = records[-1]
    assert after["message"] == "outside any request"
    assert after["request_id"] is None and after["tenant_id"] is None


def test_console_lines_stay_readable_without_empty_context(capsys):
    configure_logging(level="INFO", fmt="console")
    stdout_handler().setStream(CurrentStdout())
    capsys.readouterr()
    try:
        logging.getLogger("saas.console").warning("plain words %s", "here")
        line = capsys.readouterr().out.strip()
    finally:
        configure_logging(level=settings.LOG_LEVEL, fmt=settings.LOG_FORMAT)
    assert "plain words here" in line and "[saas.console]" in line
    assert "None" not in line and not line.startswith("{")


def test_a_servers_coloured_copy_of_the_message_is_left_out(db, log_lines):
    logging.getLogger("uvicorn.error").info(
        "Started server process [%d]",
        42,
        extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"},
    )
    [record] = [r for r in log_lines() if r["logger"] == "uvicorn.error"]
    assert record["message"] == "Started server process [42]" and "color_message" not in record
