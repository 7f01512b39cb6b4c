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

TracerProvider, Tracer, Span: the SDK's, with a span that keeps its attributes in a plain
dict, makes its events and links on first use and hands itself to the processors when it ends
(Span's docstring: what the SDK's spends, and what is kept). Measured with bench/tracing.py's
request (its server span and its SELECT, in process, a batch processor and the encoder below):
270 µs per request with the SDK's span, 157 µs with this one (docs/benchmarks.md, "Tracing
cost"). tests/saas/test_otel.py runs the same calls, odd keys, limits, events, links, statuses
and calls after the end on both and holds what they record equal.

LogContextSampler: every span starts with the tenant (and user, request id) of the log
context of the moment (saas.observability.bind_request_context, which keeps them in one
context variable, saas.telemetry.context_attributes). A sampler, not a span processor: the
attributes a sampler returns are the span's own from its start, where a processor's
`on_start` sets them one by one on the live span, each under the span's lock. It delegates the
decision to the sampler the SDK would have used (OTEL_TRACES_SAMPLER, parent-based always-on
by default).

SpanExporter: the library's OTLP/HTTP exporter (its endpoint, headers, compression, retries
and metrics) with the batch written straight in protobuf's wire format (spans_encode). The
library's `encode_spans` builds every KeyValue, AnyValue and Span as a message and copies each
into its parent: 114 µs per span of a request here; spans_encode writes the bytes, with each
recent (key, value) pair's encoding kept (a request's spans repeat most of theirs), in 29 µs.
tests/saas/test_otel.py holds its bytes equal to the library's serialised request on spans of
every shape.
"""

import struct
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.attributes import _clean_attribute_value
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.wsgi import wsgi_getter
from opentelemetry.propagate import extract
from opentelemetry.proto.trace.v1.trace_pb2 import SpanFlags
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.sampling import Sampler, SamplingResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_STATUS_CODE
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState
from opentelemetry.util.types import Attributes

from saas import telemetry

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
        span = telemetry.tracer.start_span(
            method,
            context=extract(meta, getter=wsgi_getter),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.scheme": request.scheme,
                "url.path": request.path,
                "server.address": meta.get("HTTP_HOST") or meta.get("SERVER_NAME") or "",
                "client.address": meta.get("REMOTE_ADDR") or "",
                "user_agent.original": meta.get("HTTP_USER_AGENT") or "",
            },
        )
        # Made current by hand: start_as_current_span's context-manager layers (use_span) were
        # a tenth of the span's cost. Django turns a view's exception into a response below
        # this middleware (got_request_exception records it), so only the span's end and the
        # context's restoration need a finally.
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            response = self.get_response(request)
            match = request.resolver_match
            attributes: dict[str, Any] = {"http.response.status_code": response.status_code}
            if match is not None and match.route:
                span.update_name(f"{method} {match.route}")
                attributes["http.route"] = match.route
            span.set_attributes(attributes)
            if response.status_code >= 500:
                span.set_status(StatusCode.ERROR)
        finally:
            otel_context.detach(token)
            span.end()
        return response


def _record_exception(sender: Any = None, **_: Any) -> None:
    # Sent while Django turns a view's exception into its error page, inside the except block.
    error = sys.exc_info()[1]
    span = trace.get_current_span()
    if error is not None and span.is_recording():
        span.record_exception(error)


# --- Spans ----------------------------------------------------------------------------------


class TracerProvider(sdk_trace.TracerProvider):
    """The SDK's provider (its processors, sampler, resource, limits, fork handling, tracer
    configuration) whose tracers start `Span`s.

    The SDK's tracer is kept (it is cached per instrumentation scope and re-configured by the
    provider), with its class narrowed to `Tracer`, which adds no state of its own.
    """

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        tracer = super().get_tracer(*args, **kwargs)
        if type(tracer) is sdk_trace.Tracer:  # not NoOpTracer (OTEL_SDK_DISABLED)
            tracer.__class__ = Tracer
        return tracer


class Tracer(sdk_trace.Tracer):
    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        # The SDK's Tracer.start_span (1.45), step for step, making a `Span`.
        links = links or ()
        parent: SpanContext | None = trace.get_current_span(context).get_span_context()
        if parent is not None and not isinstance(parent, SpanContext):
            raise TypeError("parent_span_context must be a SpanContext or None.")
        if not self._is_enabled():
            return trace.NonRecordingSpan(context=parent)  # type: ignore[arg-type]  # as the SDK does
        if parent is None or not parent.is_valid:
            parent = None
            trace_id = self.id_generator.generate_trace_id()
            random_trace_id = self.id_generator.is_trace_id_random()
        else:
            trace_id = parent.trace_id
            random_trace_id = parent.trace_flags.random_trace_id
        sampling_result = self.sampler.should_sample(context, trace_id, name, kind, attributes, links)
        flags = TraceFlags.SAMPLED if sampling_result.decision.is_sampled() else TraceFlags.DEFAULT
        if random_trace_id:
            flags |= TraceFlags.RANDOM_TRACE_ID
        span_context = SpanContext(
            trace_id,
            self.id_generator.generate_span_id(),
            is_remote=False,
            trace_flags=TraceFlags(flags),
            trace_state=sampling_result.trace_state,
        )
        record_end_metrics = self._tracer_metrics.start_span(parent, sampling_result.decision)
        if not sampling_result.decision.is_recording():
            return trace.NonRecordingSpan(context=span_context)
        span = Span(
            name=name,
            context=span_context,
            parent=parent,
            sampler=self.sampler,
            resource=self.resource,
            attributes=sampling_result.attributes,
            span_processor=self.span_processor,
            kind=kind,
            links=links,
            instrumentation_info=self.instrumentation_info,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
            limits=self._span_limits,
            instrumentation_scope=self._instrumentation_scope,
            record_end_metrics=record_end_metrics,
        )
        span.start(start_time=start_time, parent_context=context)
        return span


_UNSET = Status(StatusCode.UNSET)


class Span(sdk_trace.Span):
    """The SDK's span with its attributes in a plain dict, its events and links made on first
    use, and itself handed to the span processors when it ends.

    What the SDK's span spends is in what it builds, not in what it records: each span creates a
    BoundedAttributes (a mapping behind a lock, every value through `_clean_attribute_value`'s
    abstract-class checks, one lock per attribute), two BoundedLists and, when it ends, a copy
    of itself for the processors, which the exporter then reads through the abstract
    mapping's iteration. This keeps the SDK's behaviour (limits on count and length, the same
    cleaning of values that are not plain scalars, the warnings, everything refused once
    ended; the rest is the SDK's own code) and leaves those out. The copy at the end protected
    nothing: it shares the span's attributes, events and links, and an ended span no longer
    changes. tests/saas/test_otel.py holds what it exports equal to the SDK span's.
    """

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        sampler: Sampler,
        resource: Resource,
        attributes: Attributes,
        span_processor: sdk_trace.SpanProcessor,
        kind: SpanKind,
        links: Sequence[Link],
        instrumentation_info: Any,
        record_exception: bool,
        set_status_on_exception: bool,
        limits: sdk_trace.SpanLimits,
        instrumentation_scope: InstrumentationScope,
        record_end_metrics: Callable[[], None] | None,
    ) -> None:
        # The fields of the SDK's ReadableSpan and Span, as their __init__ sets them.
        self._name = name
        self._context = context
        self._kind = kind
        self._instrumentation_info = instrumentation_info
        self._instrumentation_scope = instrumentation_scope
        self._parent = parent
        self._start_time: int | None = None
        self._end_time: int | None = None
        self._resource = resource
        self._status = _UNSET
        self._sampler = sampler
        self._trace_config = None
        self._record_exception = record_exception
        self._set_status_on_exception = set_status_on_exception
        self._span_processor = span_processor
        self._limits = limits
        self._lock = threading.Lock()
        self._record_end_metrics = record_end_metrics
        self._attributes: dict[str, Any] = {}
        self._dropped_attributes = 0
        self._events: Any = ()
        self._links: Any = self._new_links(links) if links else ()
        if attributes:
            self._attributes_set(attributes)

    def _attributes_set(self, attributes: Mapping[str, Any]) -> None:
        # BoundedAttributes' rules: values cleaned (plain scalars as they are, strings cut to
        # the length limit), odd keys left to the SDK's cleaning (dropped, or made a str); when
        # full, the oldest key goes.
        store = self._attributes
        limit = self._limits.max_span_attributes
        length = self._limits.max_span_attribute_length
        for key, value in attributes.items():
            if key.__class__ is not str or not key:
                cleaned = _clean_attribute_value({key: value}, length)
                self._dropped_attributes += 1 - len(cleaned)
                if not cleaned:
                    continue
                ((key, value),) = cleaned.items()
            elif value.__class__ not in _PLAIN_VALUES or (length is not None and value.__class__ is str):
                value = _clean_attribute_value(value, length)
            if key in store:
                del store[key]
            elif limit is not None and len(store) >= limit:
                self._dropped_attributes += 1
                if limit == 0:
                    continue
                del store[next(iter(store))]
            store[key] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        with self._lock:
            if self._end_time is not None:
                sdk_trace.logger.warning("Setting attribute on ended span.")
                return
            self._attributes_set(attributes)

    def set_attribute(self, key: str, value: Any) -> None:
        with self._lock:
            if self._end_time is not None:
                sdk_trace.logger.warning("Setting attribute on ended span.")
                return
            if not key or not isinstance(key, str):  # one by one, the SDK drops it unconverted
                sdk_trace.logger.warning("invalid key `%s`. must be non-empty string. Dropping key.", key)
                self._dropped_attributes += 1
                return
            self._attributes_set({key: value})

    @property
    def dropped_attributes(self) -> int:
        return self._dropped_attributes

    @sdk_trace._check_span_ended
    def _add_event(self, event: sdk_trace.EventBase) -> None:
        if type(self._events) is tuple:
            self._events = self._new_events()
        self._events.append(event)

    @sdk_trace._check_span_ended
    def _add_link(self, link: Link) -> None:
        if type(self._links) is tuple:
            self._links = self._new_links(())
        self._links.append(link)

    def end(self, end_time: int | None = None) -> None:
        with self._lock:
            if self._start_time is None:
                raise RuntimeError("Calling end() on a not started span.")
            if self._end_time is not None:
                sdk_trace.logger.warning("Calling end() on an ended span.")
                return
            self._end_time = end_time if end_time is not None else time.time_ns()
        if self._record_end_metrics:
            self._record_end_metrics()
        self._span_processor._on_ending(self)
        self._span_processor.on_end(self)


_PLAIN_VALUES = frozenset({str, bool, int, float, bytes, type(None)})


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
        extra = telemetry.context_attributes()
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
                data = spans_encode(spans)
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


def spans_encode(spans: Sequence[ReadableSpan]) -> bytes:
    """The OTLP request for `spans` (an ExportTraceServiceRequest in protobuf's wire format),
    grouped by resource then instrumentation scope."""
    # Per resource, in the order first seen: its scopes' encoded spans. A provider's spans share
    # one Resource object, looked up by identity (hashing a Resource serialises it to JSON); an
    # equal one of another identity joins its group, as in the library.
    groups: list[tuple[Resource, dict[InstrumentationScope | None, list[bytes]]]] = []
    by_id: dict[int, dict[InstrumentationScope | None, list[bytes]]] = {}
    for span in spans:
        resource = span.resource
        scopes = by_id.get(id(resource))
        if scopes is None:
            scopes = next((known for seen, known in groups if seen == resource), None)
            if scopes is None:
                scopes = {}
                groups.append((resource, scopes))
            by_id[id(resource)] = scopes
        scopes.setdefault(span.instrumentation_scope, []).append(_span(span))
    return b"".join(_message(1, _resource_spans(resource, scopes)) for resource, scopes in groups)


# Protobuf's wire format, as far as OTLP's trace messages need it (opentelemetry-proto's
# trace.proto, common.proto, resource.proto): a field is its tag (number << 3 | wire type),
# then a varint, 8 or 4 little-endian bytes, or a length and that many bytes. Fields are
# written in field-number order, as protobuf serialises them; proto3 scalars at their zero
# value are left out, messages and oneof members are written when present, even empty.

_FIXED64 = struct.Struct("<Q").pack
_FIXED32 = struct.Struct("<I").pack
_DOUBLE = struct.Struct("<d").pack
_INT64_MASK = (1 << 64) - 1  # a negative int64 is written as its two's complement


def _varint(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _message(number: int, payload: bytes) -> bytes:
    """A length-delimited field (a message, bytes, a string's UTF-8)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string(number: int, text: str) -> bytes:
    return _message(number, text.encode()) if text else b""


def _resource_spans(resource: Resource, scopes: Mapping[InstrumentationScope | None, list[bytes]]) -> bytes:
    # ResourceSpans: resource = 1 (Resource: attributes = 1), scope_spans = 2, schema_url = 3.
    return b"".join(
        (
            _message(1, _attributes(1, resource.attributes)),
            *(_message(2, _scope_spans(scope, encoded)) for scope, encoded in scopes.items()),
            _string(3, resource.schema_url),
        )
    )


def _scope_spans(scope: InstrumentationScope | None, spans: list[bytes]) -> bytes:
    # ScopeSpans: scope = 1 (InstrumentationScope: name = 1, version = 2, attributes = 3),
    # spans = 2, schema_url = 3.
    if scope is None:
        return b"\x0a\x00" + b"".join(_message(2, span) for span in spans)
    described = _string(1, scope.name) + _string(2, scope.version or "") + _attributes(3, scope.attributes)
    return b"".join(
        (_message(1, described), *(_message(2, span) for span in spans), _string(3, scope.schema_url or ""))
    )


_HAS_IS_REMOTE = SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_IS_REMOTE = SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
_KINDS = {kind: b"\x30" + _varint(kind.value + 1) for kind in SpanKind}  # OTLP counts from UNSPECIFIED


def _flags(context: SpanContext | None) -> int:
    return _HAS_IS_REMOTE | _IS_REMOTE if context is not None and context.is_remote else _HAS_IS_REMOTE


def _span(span: ReadableSpan) -> bytes:
    # Span: trace_id = 1, span_id = 2, trace_state = 3, parent_span_id = 4, name = 5, kind = 6,
    # start_time_unix_nano = 7, end_time_unix_nano = 8, attributes = 9,
    # dropped_attributes_count = 10, events = 11, dropped_events_count = 12, links = 13,
    # dropped_links_count = 14, status = 15 (message = 2, code = 3), flags = 16 (fixed32).
    context = span.get_span_context()
    assert context is not None  # an SDK span always has one
    parts = [
        b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + context.span_id.to_bytes(8, "big"),
    ]
    if context.trace_state:
        parts.append(_string(3, ",".join(f"{key}={value}" for key, value in context.trace_state.items())))
    parent = span.parent
    if parent is not None:
        parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
    parts.append(_string(5, span.name))
    parts.append(_KINDS[span.kind])
    if span.start_time:
        parts.append(b"\x39" + _FIXED64(span.start_time))
    if span.end_time:
        parts.append(b"\x41" + _FIXED64(span.end_time))
    parts.append(_attributes(9, span.attributes))
    if span.dropped_attributes:
        parts.append(b"\x50" + _varint(span.dropped_attributes))
    for event in span.events:
        # Event: time_unix_nano = 1 (fixed64), name = 2, attributes = 3, dropped_attributes_count = 4.
        dropped = event.dropped_attributes
        encoded = b"".join(
            (
                b"\x09" + _FIXED64(event.timestamp) if event.timestamp else b"",
                _string(2, event.name),
                _attributes(3, event.attributes),
                b"\x20" + _varint(dropped) if dropped else b"",
            )
        )
        parts.append(_message(11, encoded))
    if span.dropped_events:
        parts.append(b"\x60" + _varint(span.dropped_events))
    for link in span.links:
        # Link: trace_id = 1, span_id = 2, attributes = 4, dropped_attributes_count = 5, flags = 6.
        dropped = link.dropped_attributes
        encoded = b"".join(
            (
                b"\x0a\x10" + link.context.trace_id.to_bytes(16, "big"),
                b"\x12\x08" + link.context.span_id.to_bytes(8, "big"),
                _attributes(4, link.attributes),
                b"\x28" + _varint(dropped) if dropped else b"",
                b"\x35" + _FIXED32(_flags(link.context)),
            )
        )
        parts.append(_message(13, encoded))
    if span.dropped_links:
        parts.append(b"\x70" + _varint(span.dropped_links))
    status = span.status
    code = status.status_code.value
    parts.append(
        _message(15, _string(2, status.description or "") + (b"\x18" + _varint(code) if code else b""))
    )
    parts.append(b"\x85\x01" + _FIXED32(_flags(parent)))
    return b"".join(parts)


# The encoded KeyValue field of each recent (key, scalar value): a request's spans repeat most
# of theirs (method, scheme, host, route, status, tenant, the statement's text). Bounded: the
# cache starts over when full. The value's class is part of the key (True == 1, 1 == 1.0).
_ENCODED_PAIRS: dict[tuple[int, str, type, Any], bytes] = {}
_ENCODED_PAIRS_MAX = 2048
_CACHED_CLASSES = frozenset({str, int, bool, float})


def _attributes(number: int, attributes: Mapping[str, Any] | None) -> bytes:
    """The repeated KeyValue field `number` for `attributes`; a value of a type OTLP cannot carry
    is left out (and logged), as the library does."""
    if not attributes:
        return b""
    parts = []
    cache = _ENCODED_PAIRS
    for key, value in attributes.items():
        cached = value.__class__ in _CACHED_CLASSES
        if cached:
            encoded = cache.get((number, key, value.__class__, value))
            if encoded is not None:
                parts.append(encoded)
                continue
        try:
            encoded = _message(number, _string(1, key) + _message(2, _any_value(value)))
        except TypeError as error:
            logger.error("span attribute not exported", key=key, error=str(error))
            continue
        if cached:
            if len(cache) >= _ENCODED_PAIRS_MAX:
                cache.clear()
            cache[number, key, value.__class__, value] = encoded
        parts.append(encoded)
    return b"".join(parts)


def _any_value(value: Any) -> bytes:
    # AnyValue, a oneof: string_value = 1, bool_value = 2, int_value = 3, double_value = 4,
    # array_value = 5 (values = 1), kvlist_value = 6 (values = 1), bytes_value = 7. The order of
    # the library's checks: bool before int (a bool is an int).
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _message(1, value.encode())
    if isinstance(value, int):
        if not -(1 << 63) <= value < 1 << 63:
            raise TypeError(f"the integer {value} is out of int64's range")
        return b"\x18" + _varint(value & _INT64_MASK)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE(value)
    if isinstance(value, bytes):
        return _message(7, value)
    if isinstance(value, Sequence):
        return _message(5, b"".join(_message(1, _any_value(item)) for item in value))
    if isinstance(value, Mapping):
        pairs = (
            _message(1, _string(1, str(key)) + _message(2, _any_value(item))) for key, item in value.items()
        )
        return _message(6, b"".join(pairs))
    if value is None:
        return b""
    raise TypeError(f"an attribute of type {type(value).__name__} cannot be exported")
