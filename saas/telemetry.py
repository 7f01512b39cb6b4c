"""Traces (OpenTelemetry) and error reports (Sentry), started once per process.

Tracing is on only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: then each process installs the
SDK's tracer provider exporting over OTLP/HTTP (batched), a server span per request
(saas.otel.TracingMiddleware), the Celery, Redis and requests instrumentations and a span per
SQL statement. Unset, nothing is installed: the API's
no-op tracer answers the few spans the project opens itself (`tracer` below) and costs
nothing measurable (bench/tracing.py).

One trace follows a change from the request that made it to its last side effect, in W3C
trace context: the request's span → the outbox row (its `traceparent`, written in the
request's transaction) → the relay's `outbox.dispatch` span (parented by the row, so a
sweeper dispatching it minutes later in another process continues the same trace) → the Celery
publish and task spans (headers) → the SMTP or HTTP call; a live message pushed to sockets
carries it too (saas.broadcast). Every span carries `tenant.id` (and `enduser.id` when known),
taken from the log context of the moment (saas.observability.bind_request_context).

A management command run by manage.py is one span, `manage.py <command>` (execute_command;
not the interactive and serving ones, UNTRACED_COMMANDS).

Where the SDK starts matters: web and socket servers import config.wsgi / config.asgi in each
worker process, after any fork; Celery's prefork parent forks its children after loading the
app, and exporters (a thread, a connection pool) do not survive a fork, so a worker starts
the SDK in `worker_process_init`, in the child, and flushes it in `worker_process_shutdown`,
or the spans of a child retired by `max_tasks_per_child` are lost.

Sentry (on when `SENTRY_DSN` is set) reports errors with the tenant, user and request id as
tags, everything through the log redaction (`before_send`), and, when tracing is on, the
OpenTelemetry trace id (sentry-sdk's OTLP integration), so an error report, its log lines and
its trace share one id. Its Celery integration does not propagate its own trace headers:
doing so replaced OpenTelemetry's context in the task headers (sentry-python #4408).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

import structlog
from django.conf import settings
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from sentry_sdk.types import Event, Hint

logger = structlog.get_logger(__name__)

# The project's own spans (requests, SQL, outbox relay, SMTP, socket pushes): the API's no-op
# proxy until the SDK starts, then the SDK's tracer itself (tracing_init; the proxy costs a
# lookup per span). Read it as `telemetry.tracer`, never imported by name.
tracer: trace.Tracer = trace.get_tracer("saas")
_w3c = TraceContextTextMapPropagator()

_lock = threading.Lock()
_provider: TracerProvider | None = None
_sentry_started = False

# Log-context fields copied onto spans, and the attribute each becomes.
SPAN_ATTRIBUTES = {"tenant_id": "tenant.id", "user_id": "enduser.id", "request_id": "http.request_id"}


# --- Trace context in rows and messages -----------------------------------------------------


def current_trace_context() -> dict[str, str]:
    """The current span's W3C headers (`traceparent`, `tracestate` if any); {} without a span."""
    carrier: dict[str, str] = {}
    _w3c.inject(carrier)
    return carrier


def context_from(carrier: Mapping[str, str]) -> otel_context.Context | None:
    """The OpenTelemetry context a stored `traceparent` names, or None (start a new trace)."""
    if not carrier.get("traceparent"):
        return None
    return _w3c.extract(dict(carrier))


def span_in(
    name: str, carrier: Mapping[str, str] | None = None, **attributes: Any
) -> AbstractContextManager[Any]:
    """A span named `name`, child of the context in `carrier` if given (else of the current).

    Tracing off, nothing at all: even the API's no-op tracer parsing the carrier and switching
    contexts was 7% of a socket server's CPU, per socket and per message (bench/realtime.py).
    """
    if _provider is None:
        return nullcontext()
    return _span_in(name, carrier, attributes)


@contextmanager
def _span_in(name: str, carrier: Mapping[str, str] | None, attributes: dict[str, Any]) -> Iterator[Any]:
    parent = context_from(carrier) if carrier else None
    clean = {key: value for key, value in attributes.items() if value is not None}
    with tracer.start_as_current_span(name, context=parent, attributes=clean) as span:
        yield span


# The span attributes of the log context of the moment, kept beside structlog's context
# variables by saas.observability (bind_request_context and its siblings call the functions
# below) so that the sampler starting each span reads one variable. structlog's
# get_contextvars() copies the whole context and scans every variable in it: a fifth of a
# span's start in a profile of bench/tracing.py (docs/benchmarks.md).
_context_attributes: ContextVar[dict[str, str] | None] = ContextVar("saas_span_attributes", default=None)


def log_context_attributes(values: Mapping[str, Any]) -> dict[str, str]:
    """The span attributes of the log-context fields in `values` that are set."""
    return {
        attribute: str(value)
        for field, attribute in SPAN_ATTRIBUTES.items()
        if (value := values.get(field)) is not None
    }


def context_attributes() -> dict[str, str]:
    """The span attributes of the log context bound now ({} if none)."""
    return _context_attributes.get() or {}


def context_attributes_bind(
    values: Mapping[str, Any], *, current_span: bool = True
) -> Token[dict[str, str] | None] | None:
    """Add the log-context fields in `values` to the spans started from now on and, with
    `current_span`, to the current one (if it records); the token resets them (None: nothing
    to add)."""
    attributes = log_context_attributes(values)
    if not attributes:
        return None
    token = _context_attributes.set({**context_attributes(), **attributes})
    if current_span:
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(attributes)
    return token


def context_attributes_reset(token: Token[dict[str, str] | None] | None) -> None:
    if token is not None:
        _context_attributes.reset(token)


def context_attributes_clear() -> None:
    _context_attributes.set(None)


# --- Starting and stopping ------------------------------------------------------------------


def telemetry_init(role: str) -> None:
    """Start tracing (if OTEL_EXPORTER_OTLP_ENDPOINT) and Sentry (if SENTRY_DSN) in this process."""
    tracing_init(role)
    sentry_init(role)


def tracing_init(role: str) -> bool:
    """Install the SDK, its OTLP/HTTP exporter and the instrumentations; True if tracing is on."""
    global _provider, tracer
    if not settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        return False
    with _lock:
        if _provider is not None:
            return True
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override these.
        resource = Resource.create(
            {"service.name": f"saas-{role}", "saas.role": role, "process.pid": os.getpid()}
        )
        from saas.otel import LogContextSampler, SpanExporter, TracerProvider

        provider = TracerProvider(resource=resource)
        # The sampler the SDK picked from OTEL_TRACES_SAMPLER, wrapped (saas/otel.py), before
        # the provider has made any tracer (each takes the provider's sampler when made).
        provider.sampler = LogContextSampler(provider.sampler)
        # OTLP/HTTP; reads OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) and OTEL_EXPORTER_OTLP_*.
        provider.add_span_processor(BatchSpanProcessor(SpanExporter()))
        trace.set_tracer_provider(provider)
        tracer = provider.get_tracer("saas")
        _instrument()
        _provider = provider
    logger.info("tracing started", role=role, endpoint=settings.OTEL_EXPORTER_OTLP_ENDPOINT)
    return True


def tracing_flush(timeout_millis: int = 5000) -> None:
    """Export every span this process still holds (a process about to exit)."""
    if _provider is not None:
        _provider.force_flush(timeout_millis)


def _instrument() -> None:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    # The request's span (saas/otel.py: why not the Django instrumentation): first, so the
    # request id, tenant and user bound by the later middleware land on it. This runs before
    # the handler loads MIDDLEWARE (config.wsgi, config.asgi).
    if "saas.otel.TracingMiddleware" not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = ["saas.otel.TracingMiddleware", *settings.MIDDLEWARE]
    CeleryInstrumentor().instrument()
    RedisInstrumentor().instrument()
    # The OTLP exporter's own posts are not traced (the SDK suppresses instrumentation there).
    RequestsInstrumentor().instrument()
    _instrument_sql()


def _instrument_sql() -> None:
    """One client span per SQL statement, on every Django connection (psycopg underneath).

    opentelemetry-instrumentation-psycopg is not published for the SDK release pinned here
    (0.66b2); Django's execute wrappers see every statement of every connection, pooled or not,
    and need no proxy around psycopg's connection.
    """
    from django.db.backends.signals import connection_created

    def on_connection(sender: Any, connection: Any, **_: Any) -> None:
        if _sql_span not in connection.execute_wrappers:
            connection.execute_wrappers.append(_sql_span)

    connection_created.connect(on_connection, dispatch_uid="saas.sql_spans", weak=False)
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        on_connection(None, connection)


def _sql_span(execute: Any, sql: str, params: Any, many: bool, context: Mapping[str, Any]) -> Any:
    # Started, not made current: nothing runs inside a statement that could be its child, and
    # attaching and detaching the context for each one showed in the profile (docs/benchmarks.md).
    operation = sql.lstrip()[:16].split(None, 1)[0].upper() if sql.strip() else "SQL"
    span = tracer.start_span(
        operation,
        kind=trace.SpanKind.CLIENT,
        attributes={
            "db.system.name": "postgresql",
            "db.namespace": context["connection"].settings_dict.get("NAME") or "",
            "db.query.text": sql[:2000],
            "db.operation.name": operation,
        },
    )
    try:
        return execute(sql, params, many, context)
    except Exception as error:
        span.record_exception(error)
        span.set_status(trace.StatusCode.ERROR, type(error).__name__)
        raise
    finally:
        span.end()


# --- Management commands (manage.py) -------------------------------------------------------

# Interactive or serving until stopped: one span would stay open for the whole session (and
# runserver's autoreloader runs the command again in a child, with the same argv). Their
# requests and statements are traced as anywhere else, or not at all.
UNTRACED_COMMANDS = frozenset(
    {"runserver", "runserver_plus", "testserver", "runworker", "shell", "shell_plus", "dbshell"}
)


def execute_command(argv: list[str]) -> None:
    """`django-admin`'s `execute_from_command_line(argv)`, inside one span `manage.py <command>`
    when tracing is on: the parent of the command's SQL, Redis and publish spans, its log lines
    carry its trace id (and one "command finished" line); the exit status (and an error status
    when not 0) on the span."""
    from django.core.management import execute_from_command_line

    command = argv[1] if len(argv) > 1 and not argv[1].startswith("-") else ""
    if not command or command in UNTRACED_COMMANDS or not _tracing_configured() or not tracing_init("manage"):
        execute_from_command_line(argv)
        return
    started = time.perf_counter()
    status: int | str | None = 0
    outcome: BaseException | None = None
    with tracer.start_as_current_span(
        f"manage.py {command}",
        kind=trace.SpanKind.INTERNAL,
        attributes={"django.command": command},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            execute_from_command_line(argv)
        except SystemExit as exit_:  # a CommandError becomes exit status 1 (message on stderr)
            status, outcome = exit_.code, exit_
        except BaseException as error:
            status, outcome = 1, error
            span.record_exception(error)
        code = status if isinstance(status, int) else (0 if status is None else 1)
        span.set_attribute("process.exit.code", code)
        if code != 0:
            span.set_status(trace.StatusCode.ERROR, f"exit status {code}")
        # The span's summary as a line of its trace (a command's own output is for people).
        (logger.info if code == 0 else logger.error)(
            "command finished",
            command=command,
            exit_code=code,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
    tracing_flush()
    if outcome is not None:
        raise outcome


def _tracing_configured() -> bool:
    try:
        return bool(settings.OTEL_EXPORTER_OTLP_ENDPOINT)
    except Exception:
        return False


# --- Celery's process signals (connected in saas.observability.connect_celery_signals) -------


def on_worker_init(sender: Any = None, **_: Any) -> None:
    """A worker whose pool does not fork (solo, threads) starts here, in its only process."""
    from celery import concurrency
    from celery.concurrency.prefork import TaskPool

    pool = concurrency.get_implementation(getattr(sender, "pool_cls", None) or "prefork")
    if not (isinstance(pool, type) and issubclass(pool, TaskPool)):
        telemetry_init("worker")


def on_worker_process_init(**_: Any) -> None:
    telemetry_init("worker")


def on_worker_process_shutdown(**_: Any) -> None:
    tracing_flush()
    if _sentry_started:
        import sentry_sdk

        sentry_sdk.flush(timeout=2)


def on_beat_init(**_: Any) -> None:
    telemetry_init("beat")


# --- Sentry ---------------------------------------------------------------------------------


def sentry_init(role: str) -> bool:
    """Start Sentry for this process if SENTRY_DSN is set; True if it runs."""
    global _sentry_started
    if not settings.SENTRY_DSN or _sentry_started:
        return _sentry_started
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    integrations: list[Any] = [
        DjangoIntegration(),
        # sentry-python #4408: its trace headers replaced OpenTelemetry's in the task's.
        CeleryIntegration(propagate_traces=False),
        # Errors logged (not only raised) are reported; lower levels become breadcrumbs.
        LoggingIntegration(event_level=logging.ERROR),
    ]
    if _provider is not None:
        from sentry_sdk.integrations.otlp import OTLPIntegration

        # Events carry OpenTelemetry's trace id; spans still go to our collector only.
        integrations.append(OTLPIntegration(setup_otlp_traces_exporter=False, setup_propagator=False))
    sentry_sdk.init(
        dsn=settings.SENTRY_DSN,
        release=settings.SENTRY_RELEASE or None,
        environment=settings.ENVIRONMENT,
        send_default_pii=settings.SENTRY_SEND_DEFAULT_PII,
        # Sentry's own tracing starts traces of its own ids; with OpenTelemetry on, the traces
        # are OpenTelemetry's (its collector, its sampler) and Sentry's stays off, so an event,
        # its log lines and its spans share one trace id.
        traces_sample_rate=None if _provider is not None else settings.SENTRY_TRACES_SAMPLE_RATE,
        integrations=integrations,
        before_send=sentry_before_send,
        before_breadcrumb=_sentry_before_breadcrumb,
        server_name=f"{role}-{os.getpid()}",
    )
    sentry_sdk.set_tag("role", role)
    _sentry_started = True
    return True


def sentry_before_send(event: Event, hint: Hint) -> Event | None:
    """Tags from the log context, then the whole event through the log redaction."""
    from saas.observability import redact_value

    bound = structlog.contextvars.get_contextvars()
    tags = event.setdefault("tags", {})
    for field, tag in (("tenant_id", "tenant"), ("user_id", "user"), ("request_id", "request_id")):
        if bound.get(field) is not None:
            tags.setdefault(tag, str(bound[field]))
    if bound.get("user_id") is not None:
        event.setdefault("user", {}).setdefault("id", str(bound["user_id"]))
    redacted: Event = redact_value(event)
    return redacted


def _sentry_before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    from saas.observability import redact_value

    redacted: dict[str, Any] = redact_value(crumb)
    return redacted
