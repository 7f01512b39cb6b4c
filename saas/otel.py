"""The parts that need the OpenTelemetry SDK: imported by saas.telemetry only when tracing is
on, so none of it is loaded otherwise.

TracingMiddleware: the request's server span. OpenTelemetry's Django instrumentation
(opentelemetry-instrumentation-django) was measured and replaced: profiling bench/tracing.py's
one-query page under gunicorn, its middleware took about a sixth of the worker's request time
(1.1 of 6.5 s for 686 requests; docs/benchmarks.md, "Tracing cost"): it builds the absolute
URL three times to match the excluded URLs, resolves the path once more for the span's name,
copies the WSGI environ into a dozen attributes, and fills the attribute sets of its HTTP
metrics even with no meter provider installed. This one keeps
what a trace needs: the W3C parent from the request's headers, the span named by the route,
the method, path, host, client and status as OpenTelemetry's HTTP semantic conventions name
them, an error status for 5xx and the exception (got_request_exception). It reads the Host
header as sent, never `request.get_host()`, so a malformed Host (which Django refuses with
DisallowedHost) is traced like any request and answered by the tenant resolution's
unknown-host page. The probes (/healthz, /readyz) are not traced: a load balancer asks every
few seconds.

LogContextSpanProcessor: every span starts with the tenant (and user, request id) of the log
context of the moment (saas.observability.bind_request_context).
"""

import sys
from collections.abc import Callable
from typing import Any

import structlog
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.wsgi import wsgi_getter
from opentelemetry.propagate import extract
from opentelemetry.sdk.trace import Span, SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from saas.telemetry import SPAN_ATTRIBUTES, tracer

_PROBE_PATHS = frozenset({"/healthz", "/readyz"})


class TracingMiddleware:
    """First in MIDDLEWARE (saas.telemetry puts it there): one SERVER span per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        got_request_exception.connect(_record_exception, dispatch_uid="saas.otel_exception", weak=False)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path in _PROBE_PATHS:
            return self.get_response(request)
        meta = request.META
        method = request.method or "GET"
        attributes = {
            "http.request.method": method,
            "url.scheme": request.scheme,
            "url.path": request.path,
            "server.address": meta.get("HTTP_HOST") or meta.get("SERVER_NAME") or "",
            "client.address": meta.get("REMOTE_ADDR") or "",
            "user_agent.original": meta.get("HTTP_USER_AGENT") or "",
        }
        with tracer.start_as_current_span(
            method,
            context=extract(meta, getter=wsgi_getter),
            kind=SpanKind.SERVER,
            attributes=attributes,
        ) as span:
            response = self.get_response(request)
            match = request.resolver_match
            if match is not None and match.route:
                span.update_name(f"{method} {match.route}")
                span.set_attribute("http.route", match.route)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(StatusCode.ERROR)
        return response


def _record_exception(sender: Any = None, **_: Any) -> None:
    # Sent while Django turns a view's exception into its error page, inside the except block.
    error = sys.exc_info()[1]
    span = trace.get_current_span()
    if error is not None and span.is_recording():
        span.record_exception(error)


class LogContextSpanProcessor(SpanProcessor):
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        bound = structlog.contextvars.get_contextvars()
        for field, attribute in SPAN_ATTRIBUTES.items():
            value = bound.get(field)
            if value is not None:
                span.set_attribute(attribute, str(value))
