"""Structured logs: one JSON object per line, in every process (web, sockets, worker, beat,
management commands).

structlog renders every record, including those of Django, Celery, gunicorn, uvicorn and other
libraries that use the standard `logging` module, so there is one format to parse. Context
that belongs to a request, a socket or a task (request id, tenant schema, user id, task name,
id and attempt) lives in contextvars and is added to every line emitted while it runs; the
trace and span ids come from the current OpenTelemetry span (saas/telemetry.py), null when
tracing is off. Every line has every field (null when unknown), so a query never needs to ask
whether a field exists. README, "Observability", lists them.
"""

from __future__ import annotations

import logging
import logging.config
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from opentelemetry import trace

from saas import telemetry

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only if it is plainly an id: it is echoed in headers, logs and pages.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
# Fields on every line (null when unknown).
CONTEXT_FIELDS = ("request_id", "tenant_id", "user_id", "trace_id", "span_id")

# --- Redaction ------------------------------------------------------------------------------
# A log line outlives the secret in it and is read by more people than the secret's owner:
# invitation links stay valid for days, a password-reset or email-confirmation key takes over
# an account, a hand-off token logs its holder in. One filter, applied to every line (ours,
# Django's, Celery's, the server's) and meant for error reports too.
REDACTED = "[redacted]"
# The path segment after these prefixes is a secret (a number there is an id, e.g.
# /members/invitations/12/revoke/, and stays).
_SECRET_PATH = re.compile(
    r"(/(?:invitations|password/reset/key|confirm-email|handoff|auth/logout)/)"
    r"(?![0-9]+(?:[/?#\s'\"]|$))[^/?#\s'\"]+",
    re.IGNORECASE,
)
_SECRET_NAME = r"[^=&#\s'\"?]*(?:token|key|code|pass|pwd|secret|sig|auth|session|otp|csrf)[^=&#\s'\"]*"  # noqa: S105
# Values of query parameters (and form-encoded pairs) whose name says secret.
_SECRET_QUERY = re.compile(rf"((?:^|[?&;\s]){_SECRET_NAME}=)[^&#\s'\"]*", re.IGNORECASE)
# Structured fields whose name says secret lose their whole value.
_SECRET_FIELD = re.compile(
    r"pass(?:word|wd)?|pwd|token|secret|authorization|cookie|api[_-]?key|(?:^|_)keys?$|csrf|session(?:id|_key)?"
    r"|signature|stripe|^(?:body|html|html_message|text_body|email_body|message_body)$",
    re.IGNORECASE,
)
# Secrets recognisable by their shape wherever they appear in text: our API keys and Stripe's
# (sk_/rk_/pk_ live or test, webhook signing secrets), and credentials after an auth scheme.
_SECRET_SHAPE = re.compile(
    r"\b(?:sk|rk)_[A-Za-z0-9]{4,}_[A-Za-z0-9_-]{8,}|\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}"
    r"|\bwhsec_[A-Za-z0-9]{8,}|\b(?:Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}",
)
_PLAIN = (str, int, float, bool, type(None))


# A session's cache key ends in the session key (Redis commands in error reports show it).
_SESSION_CACHE_KEY = re.compile(r"(django\.contrib\.sessions\.cache(?:d_db)?)[a-z0-9]+")


def redact_text(text: str) -> str:
    """`text` with token-bearing URL segments, secret-named query values and key-shaped
    secrets replaced."""
    if "_" in text or " " in text:
        text = _SECRET_SHAPE.sub(REDACTED, text)
    if "django.contrib.sessions" in text:
        text = _SESSION_CACHE_KEY.sub(rf"\1{REDACTED}", text)
    if "/" not in text and "=" not in text:
        return text
    return _SECRET_QUERY.sub(rf"\1{REDACTED}", _SECRET_PATH.sub(rf"\1{REDACTED}", text))


def _is_stripe_object(value: dict[Any, Any]) -> bool:
    """A Stripe API object or webhook event (card details, addresses, customer emails)."""
    return isinstance(value.get("object"), str) and "livemode" in value


def redact_value(value: Any, name: str = "") -> Any:
    """A structured value made safe to log: secret-named fields blanked, text redacted."""
    if name and _SECRET_FIELD.search(name):
        return REDACTED if value not in (None, "") else value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        if _is_stripe_object(value):
            return REDACTED
        return {key: redact_value(item, str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact_value(item) for item in value]
    if isinstance(value, _PLAIN):
        return value
    # Objects (a request, say) are rendered by their repr, which can carry the full URL.
    return redact_text(repr(value))


# Fields we write ourselves and that are never secret: left alone (fast, and "logger" or
# "task" must not be blanked because a task's name contains "token").
_OWN_FIELDS = frozenset({"timestamp", "level", "logger", "task", "task_id", "attempt", *CONTEXT_FIELDS})


def redact_secrets(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: `redact_value` on every field of the line."""
    return {
        key: value if key in _OWN_FIELDS else redact_value(value, key) for key, value in event_dict.items()
    }


def _rename_event_to_message(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict["message"] = event_dict.pop("event", "")
    return event_dict


def _drop_server_extras(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    # uvicorn adds the message again with terminal colour codes.
    event_dict.pop("color_message", None)
    return event_dict


def _drop_empty_context(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for field in CONTEXT_FIELDS:
        if event_dict.get(field) is None:
            event_dict.pop(field, None)
    return event_dict


def add_trace_context(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """The current span's trace and span ids (W3C hex), and every context field present."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", trace.format_trace_id(span_context.trace_id))
        event_dict.setdefault("span_id", trace.format_span_id(span_context.span_id))
    for field in CONTEXT_FIELDS:
        event_dict.setdefault(field, None)
    return event_dict


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        add_trace_context,
        structlog.stdlib.ExtraAdder(),
    ]


def structured_formatter(fmt: str = "json") -> logging.Formatter:
    """The formatter of every line: JSON, or readable columns when `fmt` is "console".

    Also for a process that never loads Django's settings (uvicorn's supervisor:
    config/uvicorn_logging.json).
    """
    shared = _shared_processors()
    renderer: Any
    exceptions: Any
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        exceptions = structlog.processors.format_exc_info
    else:
        renderer = structlog.processors.JSONRenderer()
        # A structured field ("exception": [{exc_type, exc_value, frames}]), without the
        # frames' local variables (a password in a local would go past the name-based filter).
        exceptions = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        )
    final: list[Any] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        _drop_server_extras,
        # Tracebacks become data before redaction: their messages carry URLs too.
        exceptions,
        redact_secrets,
    ]
    if fmt == "console":
        final.append(_drop_empty_context)  # columns for people: no "trace_id=None" on every line
    else:
        final.append(_rename_event_to_message)
    final.append(renderer)

    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)


def configure_logging(*, level: str = "INFO", fmt: str = "json") -> None:
    """Send every log record through structlog as JSON (or readable columns for consoles)."""
    shared = _shared_processors()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structured": {"()": structured_formatter, "fmt": fmt},
            },
            "handlers": {
                "stdout": {
                    "class": "logging.StreamHandler",
                    "formatter": "structured",
                    "stream": "ext://sys.stdout",
                }
            },
            "root": {"handlers": ["stdout"], "level": level},
            "loggers": {
                # Django's own access-style lines duplicate ours.
                "django.server": {"level": "WARNING"},
                "django.db.backends": {"level": "INFO"},
                # The servers' loggers lose the handlers they installed before loading the
                # application and reach ours (gunicorn's master: GunicornLogger below).
                "uvicorn": {"handlers": [], "propagate": True, "level": level},
                "uvicorn.error": {"handlers": [], "propagate": True, "level": level},
                "uvicorn.access": {"handlers": [], "propagate": True, "level": "WARNING"},
                "gunicorn.error": {"handlers": [], "propagate": True, "level": level},
                "gunicorn.access": {"handlers": [], "propagate": True, "level": "WARNING"},
                # Celery's task loggers otherwise keep a handler of their own.
                "celery": {"handlers": [], "propagate": True, "level": level},
            },
        }
    )
    # Warnings (deprecations, a library's advice) become log lines rather than bare stderr text.
    logging.captureWarnings(True)
    structlog.configure(
        processors=[
            *shared[:-1],
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def bind_request_context(**values: Any) -> None:
    """Add fields to every later line of this request, socket or task (and to its spans:
    `tenant_id` becomes the current and later spans' `tenant.id`, `user_id` their `enduser.id`)."""
    structlog.contextvars.bind_contextvars(**values)
    telemetry.context_attributes_bind(values)


@contextmanager
def bound_request_context(**values: Any) -> Iterator[None]:
    """Fields for the lines and the spans started inside a block (the current span keeps its
    own); the earlier values are back after it."""
    with structlog.contextvars.bound_contextvars(**values):
        token = telemetry.context_attributes_bind(values, current_span=False)
        try:
            yield
        finally:
            telemetry.context_attributes_reset(token)


def clear_request_context() -> None:
    """Forget every field bound so far (a new request, socket or task starts)."""
    structlog.contextvars.clear_contextvars()
    telemetry.context_attributes_clear()


def request_id_from(incoming: str | None) -> str:
    """The caller's request id if it is a plain id (strict pattern, at most 128 characters),
    else a new one."""
    return incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex


logger = structlog.get_logger("saas.request")
_PROBE_PATHS = frozenset({"/healthz", "/readyz"})


def _clear_request_context(**_: Any) -> None:
    clear_request_context()


class RequestContextMiddleware:
    """Give each request an id (the caller's X-Request-ID if sane), return it on the response,
    bind the user once authentication has run, and log the request's outcome."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # Unbound once the response is closed, not when this middleware returns: Django logs
        # "Not Found" / "Internal Server Error" after the middleware chain, and those lines
        # belong to the request. Without it, later lines on the same thread (outside any
        # request) would carry the last request's id and tenant.
        request_finished.connect(
            _clear_request_context, dispatch_uid="saas.clear_request_context", weak=False
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        clear_request_context()
        bind_request_context(request_id=request_id, tenant_id="public")
        started = time.perf_counter()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        # A load balancer's probes every few seconds would drown the requests people make.
        probe = request.path in _PROBE_PATHS and response.status_code < 400
        (logger.debug if probe else logger.info)(
            "request finished",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return response

    def process_view(self, request: HttpRequest, *_: Any) -> None:
        # Every middleware has run by now, authentication included.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            bind_request_context(user_id=user.pk)


# --- Tasks ------------------------------------------------------------------------------------
# Published tasks carry the request id, the user id and (through OpenTelemetry's Celery
# instrumentation) the W3C trace context in their headers; tenant-schemas-celery adds the schema.
_TASK_HEADERS = ("request_id", "user_id")


def _bind_task_context(task: Any = None, task_id: str | None = None, **_: Any) -> None:
    from tenant_schemas_celery.app import get_schema_name_from_task

    clear_request_context()
    if task is None:
        return
    schema = get_schema_name_from_task(task, {})
    headers = task.request.headers or {}
    bind_request_context(
        task_id=task_id,
        task=task.name,
        attempt=(task.request.retries or 0) + 1,
        tenant_id=schema or "public",
        **{name: headers.get(name) for name in _TASK_HEADERS},
    )


def _stamp_context(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is None:
        return
    bound = structlog.contextvars.get_contextvars()
    for name in _TASK_HEADERS:
        if bound.get(name) is not None:
            headers.setdefault(name, bound[name])


def _clear_task_context(**_: Any) -> None:
    clear_request_context()


def _banner_as_a_line(sender: Any = None, instance: Any = None, **_: Any) -> None:
    """The worker's start-up banner (printed, many lines of text) as one log line instead."""
    from django.conf import settings

    if instance is None or settings.LOG_FORMAT == "console":
        return
    instance.quiet = True
    queues = sorted(getattr(instance.app.amqp.queues, "keys", lambda: [])())
    logger.info("celery worker starting", hostname=sender, queues=queues)


def connect_celery_signals() -> None:
    """Bind task id, attempt and tenant to every log line a task emits; keep Celery's logs
    ours; start tracing and Sentry in each prefork child, flush spans when a child exits."""
    from celery.signals import (
        beat_init,
        before_task_publish,
        celeryd_init,
        setup_logging,
        task_postrun,
        task_prerun,
        worker_init,
        worker_process_init,
        worker_process_shutdown,
    )

    from saas import telemetry

    before_task_publish.connect(_stamp_context, dispatch_uid="saas.stamp_context", weak=False)
    task_prerun.connect(_bind_task_context, dispatch_uid="saas.bind_task_context", weak=False)
    task_postrun.connect(_clear_task_context, dispatch_uid="saas.clear_task_context", weak=False)
    # Connecting any receiver to setup_logging stops Celery from replacing our handlers.
    setup_logging.connect(lambda **_: None, dispatch_uid="saas.keep_logging", weak=False)
    celeryd_init.connect(_banner_as_a_line, dispatch_uid="saas.banner_as_a_line", weak=False)
    # Exporters hold threads and sockets that do not survive a fork: the SDK starts in each
    # prefork child, never in the parent before it forks (the pools without children start
    # it in worker_init). A child leaving (max_tasks_per_child, shutdown) exports what it
    # still holds first.
    worker_init.connect(telemetry.on_worker_init, dispatch_uid="saas.telemetry_worker", weak=False)
    worker_process_init.connect(
        telemetry.on_worker_process_init, dispatch_uid="saas.telemetry_child", weak=False
    )
    worker_process_shutdown.connect(
        telemetry.on_worker_process_shutdown, dispatch_uid="saas.telemetry_flush", weak=False
    )
    beat_init.connect(telemetry.on_beat_init, dispatch_uid="saas.telemetry_beat", weak=False)
