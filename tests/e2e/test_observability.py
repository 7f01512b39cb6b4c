"""One trace from the click to the email, JSON lines that share it, Sentry events on loopback.

The Procfile's web role (gunicorn) and worker role (prefork Celery) run with JSON logs,
OTLP/HTTP export to a loopback receiver (devtools/telemetry_sink.py, decoding the
protobuf) and Sentry pointed at the same receiver. Sentry is on in both, with its own tracing asked
for (SENTRY_TRACES_SAMPLE_RATE=1.0), so the sign-up's trace and context crossing Celery also
show that sentry-sdk does not break the propagation (sentry-python #4408: with Sentry's
tracing and its Celery header propagation on, the task lost the request id the web stamped).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from devtools.processes import wait_until
from devtools.telemetry_sink import Span, TelemetrySink
from tenants.schema_template import quote
from tests.conftest import host_of
from tests.e2e.signup_helpers import PASSWORD, new_identity, sign_up_through_the_form
from tests.e2e.support.client import BrowserClient

pytestmark = pytest.mark.e2e

SPAN_KIND_SERVER, SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER = 2, 4, 5
CONTEXT_FIELDS = {"timestamp", "level", "logger", "message", "request_id", "tenant_id", "user_id"}
CONTEXT_FIELDS |= {"trace_id", "span_id"}


@pytest.fixture
def telemetry_sink() -> Iterator[TelemetrySink]:
    sink = TelemetrySink()
    yield sink
    sink.close()


@pytest.fixture
def e2e_env_overrides(telemetry_sink) -> dict[str, str | None]:
    return {
        "LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": telemetry_sink.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "SENTRY_DSN": telemetry_sink.sentry_dsn,
        "SENTRY_RELEASE": "e2e-release-1",
        "SENTRY_TRACES_SAMPLE_RATE": "1.0",
    }


def json_lines(log: str) -> list[dict]:
    """Every line of a process's output as JSON (the harness's own '=====' markers aside)."""
    records = []
    for line in log.splitlines():
        if not line.strip() or line.startswith("===== start"):
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
    return records


def ancestors(span: Span, spans: list[Span]) -> list[Span]:
    by_id = {s.span_id: s for s in spans}
    chain = []
    while span.parent_span_id and span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        chain.append(span)
    return chain


def test_a_sign_up_is_one_trace_from_the_request_to_the_smtp_call(
    wsgi_server, celery_worker, smtp_server, telemetry_sink
):
    email, subdomain = new_identity("obs")
    browser = BrowserClient(wsgi_server.port)
    sign_up_through_the_form(browser, wsgi_server.url, email=email, subdomain=subdomain)
    smtp_server.wait_for(1, timeout=30)

    smtp = telemetry_sink.wait_for_span(lambda s: s.name == "smtp send", message="the SMTP span")

    def whole_trace() -> tuple[list[Span], list[Span]] | None:
        # Each process exports on its own schedule: wait until the chain reaches its root.
        spans = [s for s in telemetry_sink.spans() if s.trace_id == smtp.trace_id]
        chain = ancestors(smtp, spans)
        return (spans, chain) if chain and chain[-1].parent_span_id == "" else None

    spans, chain = wait_until(whole_trace, timeout=15, message="every span up to the request's")
    names = [s.name for s in chain]
    # smtp <- task run <- publish <- outbox relay <- ... <- the POST /signup/ request (the root).
    run = next(s for s in chain if s.name == "run/accounts.send_welcome_email")
    publish = next(s for s in chain if s.name == "apply_async/accounts.send_welcome_email")
    relay = next(s for s in chain if s.name == "outbox.dispatch")
    root = chain[-1]
    assert names.index(run.name) < names.index(publish.name) < names.index(relay.name), names
    assert (run.kind, publish.kind) == (SPAN_KIND_CONSUMER, SPAN_KIND_PRODUCER)
    assert run.parent_span_id == publish.span_id  # through the Celery headers, Sentry on
    assert root.kind == SPAN_KIND_SERVER and root.parent_span_id == "", root
    assert root.attributes.get("http.request.method", root.attributes.get("http.method")) == "POST"
    assert relay.attributes["event.name"] == "user.signed_up"
    # Web spans from gunicorn's worker, task spans from a prefork child (not the parent).
    assert {root.resource["service.name"], relay.resource["service.name"]} == {"saas-web"}
    assert run.resource["service.name"] == smtp.resource["service.name"] == "saas-worker"
    assert run.resource["process.pid"] != celery_worker.pid
    # Spans carry the tenant: the request's is the public site, the effects the new organization.
    assert root.attributes["tenant.id"] == "public"
    assert run.attributes["tenant.id"] == smtp.attributes["tenant.id"] == f"t_{subdomain}"
    assert any(s.name in {"SELECT", "INSERT", "UPDATE"} for s in spans), "no SQL spans"

    # The logs: every line of both processes is JSON; the lines of this trace come from both,
    # carry their tenant, and those of the task name it.
    web = json_lines(wsgi_server.log())
    worker = json_lines(celery_worker.log())
    for record in web + worker:
        assert record.keys() >= CONTEXT_FIELDS, record
    web_lines = [r for r in web if r["trace_id"] == smtp.trace_id]
    worker_lines = [r for r in worker if r["trace_id"] == smtp.trace_id]
    assert any(r["message"] == "request finished" and r["tenant_id"] == "public" for r in web_lines)
    assert any(
        r["message"] == "outbox event dispatched" and r["tenant_id"] == f"t_{subdomain}" for r in web_lines
    )
    delivered = [r for r in worker_lines if r["message"] == "delivery succeeded"]
    assert delivered, [r["message"] for r in worker_lines]
    assert delivered[0]["tenant_id"] == f"t_{subdomain}"
    assert delivered[0]["task"] == "accounts.send_welcome_email"
    assert delivered[0]["task_id"] and delivered[0]["attempt"] == 1
    assert delivered[0]["request_id"] == next(r["request_id"] for r in web_lines)
    # gunicorn's own lines, in the same format.
    assert any(r["logger"] == "gunicorn.error" for r in web), {r["logger"] for r in web}
    assert PASSWORD not in wsgi_server.log() + celery_worker.log()


def test_the_sweeper_continues_the_trace_stored_on_the_outbox_row_in_a_child_retired_after_it(
    e2e_env, request, telemetry_sink, make_tenant, member_of
):
    """An event left pending is dispatched later by the beat's sweeper, in a worker: its
    dispatch span continues the trace of the request that wrote the row. The exporter batches
    for a minute here and the child leaves after one task (max_tasks_per_child): only the flush
    on its way out sends the spans."""
    from config.celery import app
    from saas.models import OutboxEvent
    from tests.e2e.support.processes import CeleryWorker, running

    tenant = make_tenant()
    owner = member_of(tenant, role="owner")
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    row = OutboxEvent.objects.create(
        name="user.signed_up",
        payload={"user_id": owner.pk, "tenant_id": tenant.pk},
        tenant_schema=tenant.schema_name,
        traceparent=f"00-{trace_id}-{parent_id}-01",
    )
    OutboxEvent.objects.filter(id=row.id).update(created_at=timezone.now() - timedelta(minutes=5))

    env = {**e2e_env, "OTEL_BSP_SCHEDULE_DELAY": "60000"}
    worker = CeleryWorker(env, queue=e2e_env["CELERY_QUEUE"], concurrency=1)
    worker.argv = [*worker.argv, "--max-tasks-per-child", "1"]
    with running(worker, request):
        app.send_task("saas.outbox_sweep", queue=e2e_env["CELERY_QUEUE"])
        dispatch = telemetry_sink.wait_for_span(
            lambda s: s.name == "outbox.dispatch", timeout=20, message="the sweeper's dispatch span"
        )
    assert (dispatch.trace_id, dispatch.parent_span_id) == (trace_id, parent_id)
    assert dispatch.attributes["tenant.id"] == tenant.schema_name
    assert dispatch.resource["service.name"] == "saas-worker"
    assert dispatch.resource["process.pid"] != worker.pid  # the child, not the prefork parent
    sweep = next(s for s in telemetry_sink.spans() if s.name == "run/saas.outbox_sweep")
    assert sweep.resource["process.pid"] == dispatch.resource["process.pid"]


def test_sentry_events_carry_the_tenant_and_no_secret(wsgi_server, telemetry_sink, make_tenant, member_of):
    tenant = make_tenant()
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(member_of(tenant, role="owner"))  # the session is in the shared store
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    with connection.cursor() as cursor:  # the dashboard's reads fail: an error for Sentry
        cursor.execute(f"DROP SCHEMA {quote(tenant.schema_name)} CASCADE")
    secrets = {
        "password": "sentry-password-value-1",
        "token": "sentry-token-value-2",
        "cookie": "sentry-cookie-value-3",
        "key": "sk_abcdefgh_" + "k" * 43,
        "session": session,
    }
    response = requests.get(
        f"http://127.0.0.1:{wsgi_server.port}/?token={secrets['token']}&password={secrets['password']}",
        headers={
            "Host": f"{host_of(tenant)}:{wsgi_server.port}",
            "Authorization": f"Bearer {secrets['key']}",
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; remember={secrets['cookie']}",
            "X-Request-ID": "sentry-request-0001",
        },
        timeout=10,
    )
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "sentry-request-0001"
    assert "sentry-request-0001" in response.text  # the 500 page shows it

    events = wait_until(
        lambda: [i["item"] for i in telemetry_sink.sentry_items() if i["type"] == "event"],
        timeout=15,
        message="a Sentry event",
    )
    event = events[0]
    assert event["tags"]["tenant"] == tenant.schema_name
    assert event["tags"]["request_id"] == "sentry-request-0001"
    assert event["release"] == "e2e-release-1"
    # The same trace id as the request's spans and log lines.
    request_line = next(
        r for r in json_lines(wsgi_server.log()) if r.get("request_id") == "sentry-request-0001"
    )
    assert event["contexts"]["trace"]["trace_id"] == request_line["trace_id"]
    raw = telemetry_sink.sentry_raw().decode(errors="replace")
    for name, secret in secrets.items():
        assert secret not in raw, (name, raw[max(raw.find(secret) - 300, 0) : raw.find(secret) + 100])


def test_the_request_span_continues_the_callers_trace_and_names_the_route(
    wsgi_server, telemetry_sink, make_tenant
):
    tenant = make_tenant()
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    base = f"http://127.0.0.1:{wsgi_server.port}"
    host = f"{host_of(tenant)}:{wsgi_server.port}"
    response = requests.get(
        f"{base}/auth/handoff/",
        headers={"Host": host, "traceparent": f"00-{caller_trace}-{caller_span}-01"},
        allow_redirects=False,
        timeout=10,
    )
    # A Host Django refuses (DisallowedHost) still gets the unknown-host page, traced.
    malformed = requests.get(f"{base}/", headers={"Host": "bad_host..example"}, timeout=10)
    assert malformed.status_code == 404
    assert requests.get(f"{base}/healthz", timeout=10).status_code == 200

    span = telemetry_sink.wait_for_span(
        lambda s: s.trace_id == caller_trace and s.kind == SPAN_KIND_SERVER, message="the request span"
    )
    assert span.parent_span_id == caller_span
    assert span.name == "GET auth/handoff/" and span.attributes["http.route"] == "auth/handoff/"
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["http.response.status_code"] == response.status_code
    assert span.attributes["tenant.id"] == tenant.schema_name
    assert span.attributes["http.request_id"] == response.headers["X-Request-ID"]
    telemetry_sink.wait_for_span(
        lambda s: s.attributes.get("server.address") == "bad_host..example", message="the malformed host"
    )
    assert not [s for s in telemetry_sink.spans() if s.attributes.get("url.path") == "/healthz"]
