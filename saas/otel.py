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

LogContextSampler: every span starts with the tenant (and user, request id) of the log
context of the moment (saas.observability.bind_request_context). A sampler, not a span
processor: the attributes a sampler returns are the span's own from its start, where a
processor's `on_start` sets them one by one on the live span, each under the span's lock
(55k of the processor's 125k instructions per request, docs/benchmarks.md, "Counting
instructions instead of seconds"). It delegates
the decision to the sampler the SDK would have used (OTEL_TRACES_SAMPLER, parent-based
always-on by default).

SpanExporter: the library's OTLP/HTTP exporter (its endpoint, headers, compression, retries
and metrics) with the batch encoded in place. The library's `encode_spans` builds every
message from keyword arguments and hands the lists to the parent's constructor (with upb,
each attribute's KeyValue and AnyValue are built, then copied into the span, the span into
its scope, the scope into the request); filling the request's own repeated fields with
`add()` produces the same message in a quarter of the time (docs/benchmarks.md, "Counting
instructions instead of seconds": the library's encoding was 15% of a traced one-query
page's instructions).
tests/saas/test_otel.py holds it equal to the library's on spans of every shape.
"""

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.wsgi import wsgi_getter
from opentelemetry.propagate import extract
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import SpanFlags
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.sampling import Sampler, SamplingResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_STATUS_CODE
from opentelemetry.trace import Link, SpanContext, SpanKind, StatusCode, TraceState
from opentelemetry.util.types import Attributes

from saas.telemetry import log_context_attributes, tracer

logger = structlog.get_logger(__name__)

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


class LogContextSampler(Sampler):
    def __init__(self, delegate: Sampler) -> None:
        self.delegate = delegate

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        result = self.delegate.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )
        if not result.decision.is_recording():
            return result
        extra = log_context_attributes(structlog.contextvars.get_contextvars())
        if not extra:
            return result
        return SamplingResult(result.decision, {**result.attributes, **extra}, result.trace_state)

    def get_description(self) -> str:
        return f"LogContextSampler{{{self.delegate.get_description()}}}"


# --- The OTLP exporter ----------------------------------------------------------------------


class SpanExporter(OTLPSpanExporter):
    """OTLPSpanExporter with `spans_encode` in place of the library's `encode_spans`."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        # The library's `export` with one call changed; its warnings, refusals and metric kept.
        if self._shutdown:
            logger.warning("span exporter already shut down, batch ignored")
            return SpanExportResult.FAILURE
        with self._metrics.export_operation(len(spans)) as result:
            try:
                data = spans_encode(spans).SerializePartialToString()
            except Exception as error:
                logger.error("span batch not encoded", error=str(error))
                result.error = error
                return SpanExportResult.FAILURE
            if 0 < self._max_request_size < len(data):  # 0: no limit
                logger.warning("span batch dropped: over the request size limit", size=len(data))
                result.error = ValueError(f"span batch of {len(data)} bytes over the request limit")
                return SpanExportResult.FAILURE
            outcome = self._client.export(data)
            if not outcome.success:
                result.error = outcome.error
                if outcome.status_code is not None:
                    result.error_attrs = {HTTP_RESPONSE_STATUS_CODE: outcome.status_code}
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS


def spans_encode(spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
    """The OTLP request for `spans`, grouped by resource then instrumentation scope."""
    request = ExportTraceServiceRequest()
    # Per resource, in the order first seen: its ResourceSpans and its scopes' ScopeSpans. A
    # provider's spans share one Resource object, looked up by identity (hashing a Resource
    # serialises it to JSON); an equal one of another identity joins its group, as in the
    # library.
    groups: list[tuple[Resource, Any, dict[InstrumentationScope | None, Any]]] = []
    by_id: dict[int, tuple[Resource, Any, dict[InstrumentationScope | None, Any]]] = {}
    for span in spans:
        resource, scope = span.resource, span.instrumentation_scope
        group = by_id.get(id(resource))
        if group is None:
            group = next((known for known in groups if known[0] == resource), None)
            if group is None:
                group = (resource, _resource_spans_add(request, resource), {})
                groups.append(group)
            by_id[id(resource)] = group
        _, resource_spans, scopes = group
        target = scopes.get(scope)
        if target is None:
            target = scopes[scope] = _scope_spans_add(resource_spans, scope)
        _fill_span(target.spans.add(), span)
    return request


def _resource_spans_add(request: ExportTraceServiceRequest, resource: Resource) -> Any:
    message = request.resource_spans.add()
    message.resource.SetInParent()
    _fill_attributes(message.resource.attributes, resource.attributes)
    if resource.schema_url:
        message.schema_url = resource.schema_url
    return message


def _scope_spans_add(resource_spans: Any, scope: InstrumentationScope | None) -> Any:
    message = resource_spans.scope_spans.add()
    message.scope.SetInParent()
    if scope is not None:
        message.scope.name = scope.name
        if scope.version:
            message.scope.version = scope.version
        _fill_attributes(message.scope.attributes, scope.attributes)
        if scope.schema_url:
            message.schema_url = scope.schema_url
    return message


_HAS_IS_REMOTE = SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_IS_REMOTE = SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK


def _flags(context: SpanContext | None) -> int:
    return _HAS_IS_REMOTE | _IS_REMOTE if context is not None and context.is_remote else _HAS_IS_REMOTE


def _fill_span(message: Any, span: ReadableSpan) -> None:
    context = span.get_span_context()
    assert context is not None  # an SDK span always has one
    message.trace_id = context.trace_id.to_bytes(16, "big")
    message.span_id = context.span_id.to_bytes(8, "big")
    if context.trace_state:
        message.trace_state = ",".join(f"{key}={value}" for key, value in context.trace_state.items())
    if span.parent is not None:
        message.parent_span_id = span.parent.span_id.to_bytes(8, "big")
    message.flags = _flags(span.parent)
    message.name = span.name
    message.kind = span.kind.value + 1  # OTLP's enum counts from SPAN_KIND_UNSPECIFIED = 0
    message.start_time_unix_nano = span.start_time or 0
    message.end_time_unix_nano = span.end_time or 0
    _fill_attributes(message.attributes, span.attributes)
    message.dropped_attributes_count = span.dropped_attributes
    for event in span.events:
        encoded = message.events.add()
        encoded.name = event.name
        encoded.time_unix_nano = event.timestamp
        _fill_attributes(encoded.attributes, event.attributes)
        encoded.dropped_attributes_count = event.dropped_attributes
    message.dropped_events_count = span.dropped_events
    for link in span.links:
        encoded = message.links.add()
        encoded.trace_id = link.context.trace_id.to_bytes(16, "big")
        encoded.span_id = link.context.span_id.to_bytes(8, "big")
        _fill_attributes(encoded.attributes, link.attributes)
        encoded.dropped_attributes_count = link.dropped_attributes
        encoded.flags = _flags(link.context)
    message.dropped_links_count = span.dropped_links
    message.status.code = span.status.status_code.value
    if span.status.description:
        message.status.message = span.status.description


def _fill_attributes(target: Any, attributes: Mapping[str, Any] | None) -> None:
    for key, value in (attributes or {}).items():
        pair = target.add()
        pair.key = key
        try:
            _fill_value(pair.value, value)
        except TypeError as error:  # the library's answer too: the attribute is left out
            del target[-1]
            logger.error("span attribute not exported", key=key, error=str(error))


def _fill_value(target: AnyValue, value: Any) -> None:
    # The order of the library's checks: bool before int (a bool is an int).
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, bytes):
        target.bytes_value = value
    elif isinstance(value, Sequence):
        array = target.array_value
        array.SetInParent()
        for item in value:
            _fill_value(array.values.add(), item)
    elif isinstance(value, Mapping):
        pairs = target.kvlist_value
        pairs.SetInParent()
        for key, item in value.items():
            pair = pairs.values.add()
            pair.key = str(key)
            _fill_value(pair.value, item)
    elif value is None:
        target.SetInParent()
    else:
        raise TypeError(f"an attribute of type {type(value).__name__} cannot be exported")
