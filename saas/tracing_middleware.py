"""OpenTelemetry's Django middleware, for requests Django can name the host of.

Each of the instrumentation's hooks builds the request's absolute URL, which raises
DisallowedHost for a malformed Host header: Django would answer 400 before the tenant
resolution's unknown-host page (and before the request id is set). Such a request is left
untraced. Loaded by its dotted path only when tracing is on (saas.telemetry), so the
instrumentation is never imported otherwise.
"""

from typing import Any

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from opentelemetry.instrumentation.django.middleware.otel_middleware import _DjangoMiddleware

_UNTRACED = "_saas_untraced"


class TracingMiddleware(_DjangoMiddleware):  # type: ignore[misc]
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
