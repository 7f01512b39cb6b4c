"""The parts that need the OpenTelemetry SDK or an instrumentation: imported by
saas.telemetry only when tracing is on, so neither is loaded otherwise.

TracingMiddleware: OpenTelemetry's Django middleware, for requests Django can name the host of.
Each of the instrumentation's hooks builds the request's absolute URL, which raises
DisallowedHost for a malformed Host header: Django would answer 400 before the tenant
resolution's unknown-host page (and before the request id is set). Such a request is left
untraced.

LogContextSpanProcessor: every span starts with the tenant (and user, request id) of the log
context of the moment (saas.observability.bind_request_context).
"""

from typing import Any

import structlog
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from opentelemetry.context import Context
from opentelemetry.instrumentation.django.middleware.otel_middleware import _DjangoMiddleware
from opentelemetry.sdk.trace import Span, SpanProcessor

from saas.telemetry import SPAN_ATTRIBUTES

_UNTRACED = "_saas_untraced"


class TracingMiddleware(_DjangoMiddleware):
    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            request.get_host()
        except DisallowedHost:
            setattr(request, _UNTRACED, True)
            response: HttpResponse = self.get_response(request)
            return response
        traced: HttpResponse = super().__call__(request)
        return traced

    def process_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        if not getattr(request, _UNTRACED, False):
            super().process_view(request, *args, **kwargs)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if not getattr(request, _UNTRACED, False):
            super().process_exception(request, exception)


class LogContextSpanProcessor(SpanProcessor):
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        bound = structlog.contextvars.get_contextvars()
        for field, attribute in SPAN_ATTRIBUTES.items():
            value = bound.get(field)
            if value is not None:
                span.set_attribute(attribute, str(value))
