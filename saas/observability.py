"""Structured logs: one JSON object per line, on web and worker alike.

structlog renders every record, including those of Django, Celery and other libraries that
use the standard `logging` module, so there is one format to parse. Context that belongs to a
request or a task (request id, tenant schema, task id) lives in contextvars and is added to
every line emitted while it runs.
"""

from __future__ import annotations

import logging
import logging.config
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")

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
    r"pass(?:word|wd)?|pwd|token|secret|authorization|cookie|api[_-]?key|csrf|session(?:id|_key)?|signature",
    re.IGNORECASE,
)
_PLAIN = (str, int, float, bool, type(None))


def redact_text(text: str) -> str:
    """`text` with token-bearing URL segments and secret-named query values replaced."""
    if "/" not in text and "=" not in text:
        return text
    return _SECRET_QUERY.sub(rf"\1{REDACTED}", _SECRET_PATH.sub(rf"\1{REDACTED}", text))


def redact_value(value: Any, name: str = "") -> Any:
    """A structured value made safe to log: secret-named fields blanked, text redacted."""
    if name and _SECRET_FIELD.search(name):
        return REDACTED if value not in (None, "") else value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact_value(item, str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact_value(item) for item in value]
    if isinstance(value, _PLAIN):
        return value
    # Objects (a request, say) are rendered by their repr, which can carry the full URL.
    return redact_text(repr(value))


def redact_secrets(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: `redact_value` on every field of the line."""
    return {key: redact_value(value, key) for key, value in event_dict.items()}


def _rename_event_to_message(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict["message"] = event_dict.pop("event", "")
    return event_dict


def configure_logging(*, level: str = "INFO", fmt: str = "json") -> None:
    """Send every log record through structlog as JSON (or readable columns for consoles)."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        structlog.stdlib.ExtraAdder(),
    ]
    renderer: Any
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.JSONRenderer()
    final: list[Any] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        # Tracebacks become text before redaction: their messages carry URLs too.
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    if fmt != "console":
        final.append(_rename_event_to_message)
    final.append(renderer)

    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structured": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "foreign_pre_chain": shared,
                    "processors": final,
                }
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
                "uvicorn.access": {"level": "WARNING"},
                "django.db.backends": {"level": "INFO"},
            },
        }
    )
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
    structlog.contextvars.bind_contextvars(**values)


logger = structlog.get_logger("saas.request")


def _clear_request_context(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()


class RequestContextMiddleware:
    """Give each request an id (the caller's X-Request-ID if sane) and log its outcome."""

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
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, tenant="public")
        started = time.perf_counter()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        logger.info(
            "request finished",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return response


def _bind_task_context(task: Any = None, task_id: str | None = None, **_: Any) -> None:
    from tenant_schemas_celery.app import get_schema_name_from_task

    structlog.contextvars.clear_contextvars()
    schema = get_schema_name_from_task(task, {}) if task is not None else None
    structlog.contextvars.bind_contextvars(
        task_id=task_id,
        task=getattr(task, "name", None),
        tenant=schema or "public",
        request_id=(task.request.headers or {}).get("request_id") if task is not None else None,
    )


def _stamp_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if headers is not None and request_id:
        headers.setdefault("request_id", request_id)


def _clear_task_context(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()


def connect_celery_signals() -> None:
    """Bind task id and tenant to every log line a task emits; keep Celery's logs ours."""
    from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

    before_task_publish.connect(_stamp_request_id, dispatch_uid="saas.stamp_request_id", weak=False)
    task_prerun.connect(_bind_task_context, dispatch_uid="saas.bind_task_context", weak=False)
    task_postrun.connect(_clear_task_context, dispatch_uid="saas.clear_task_context", weak=False)
    # Connecting any receiver to setup_logging stops Celery from replacing our handlers.
    setup_logging.connect(lambda **_: None, dispatch_uid="saas.keep_logging", weak=False)
