"""The SDK parts of saas.otel: its spans, the exporter's encoding and the log-context sampler.

saas.otel.spans_encode writes the same OTLP request, byte for byte, as the library's
encode_spans; saas.otel.TracerProvider's spans record what the SDK's record.

Spans of every shape the SDK can hand the exporter: root and child, a remote parent, trace
state, every attribute type (arrays, a mapping in an event), events, links, error and OK
statuses, dropped attributes, two instrumentation scopes (one with a version, attributes and
schema URL) and two resources (one with a schema URL, one equal to the first but a distinct
object). Equal messages serialise to the same bytes, so a collector reads the same spans.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from saas import otel
from saas.observability import bind_request_context, bound_request_context, clear_request_context
from saas.otel import LogContextSampler, spans_encode


def _spans(
    resource: Resource,
    *,
    limits: SpanLimits | None = None,
    provider_class: type[TracerProvider] = TracerProvider,
) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = provider_class(resource=resource, span_limits=limits)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    plain = provider.get_tracer("saas")
    scoped = provider.get_tracer(
        "saas.jobs",
        "1.2.3",
        schema_url="https://opentelemetry.io/schemas/1.26.0",
        attributes={"team": "core"},
    )
    remote = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "value"), ("other", "x")]),
    )
    with plain.start_as_current_span(
        "GET /projects/",
        context=trace.set_span_in_context(trace.NonRecordingSpan(remote)),
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": "GET",
            "http.response.status_code": 200,
            "sampled": True,
            "ratio": 0.25,
            "tags": ["a", "b"],
            "codes": [1, 2, 3],
            "flags": [True, False],
            "weights": [0.5, 1.5],
            "blob": b"\x00\x01",
        },
    ) as root:
        root.add_event("cache miss", {"key": "projects", "details": ("x", "y")})
        root.add_event("no attributes")
        with plain.start_as_current_span(
            "SELECT", kind=SpanKind.CLIENT, links=[Link(remote, {"why": "batch"})]
        ) as child:
            child.set_status(Status(StatusCode.ERROR, "boom"))
        with scoped.start_as_current_span("report", kind=SpanKind.CONSUMER) as job:
            job.set_status(Status(StatusCode.OK))
        with scoped.start_as_current_span(
            "publish", kind=SpanKind.PRODUCER, attributes={f"k{i}": i for i in range(9)}
        ):
            pass
        plain.start_span("internal").end()
    return list(exporter.get_finished_spans())


def _compare(spans: list[ReadableSpan]) -> None:
    ours, theirs = ExportTraceServiceRequest.FromString(spans_encode(spans)), encode_spans(spans)
    assert ours == theirs, f"ours:\n{ours}\ntheirs:\n{theirs}"
    assert spans_encode(spans) == theirs.SerializeToString(deterministic=True)


@pytest.mark.parametrize("provider_class", [TracerProvider, otel.TracerProvider], ids=["sdk", "ours"])
def test_the_request_equals_the_librarys_for_spans_of_every_shape(provider_class) -> None:
    first = Resource.create({"service.name": "saas-web", "process.pid": 1})
    second = Resource(
        {"service.name": "saas-worker", "saas.role": "worker"}, "https://opentelemetry.io/schemas/1.26.0"
    )
    equal_to_first = Resource(dict(first.attributes))
    spans = (
        _spans(first, provider_class=provider_class)
        + _spans(second, limits=SpanLimits(max_span_attributes=4), provider_class=provider_class)
        + _spans(equal_to_first, provider_class=provider_class)
    )
    assert any(span.dropped_attributes for span in spans)
    assert len({id(span.resource) for span in spans}) == 3
    _compare(spans)
    request = ExportTraceServiceRequest.FromString(spans_encode(spans))
    assert len(request.resource_spans) == 2  # equal resources are one, as the library groups them
    assert [len(r.scope_spans) for r in request.resource_spans] == [2, 2]


def test_an_empty_batch_and_an_attribute_of_no_exportable_type() -> None:
    _compare([])
    spans = _spans(Resource.create({"service.name": "saas-web"}))
    span: Any = spans[0]
    # The SDK refuses such a value; an exporter handed one anyway leaves it out, as the library does.
    span._attributes = {**span.attributes, "odd": object(), "after": "kept"}
    _compare(spans)
    encoded = ExportTraceServiceRequest.FromString(spans_encode(spans))
    keys = [pair.key for pair in encoded.resource_spans[0].scope_spans[0].spans[0].attributes]
    assert "odd" not in keys and "after" in keys


class _CountingIds(IdGenerator):
    """Ids 1, 2, 3...: two providers fed the same calls make the same ids."""

    def __init__(self) -> None:
        self.last = 0

    def generate_span_id(self) -> int:
        self.last += 1
        return self.last

    def generate_trace_id(self) -> int:
        self.last += 1
        return self.last


def _recorded(provider_class: type[TracerProvider], **provider: Any) -> list[tuple[Any, ...]]:
    """Every call an instrumentation makes on spans, and what the spans then hand the exporter."""
    exporter = InMemorySpanExporter()
    tracer_provider = provider_class(
        resource=Resource.create({"service.name": "saas-web"}),
        id_generator=_CountingIds(),
        shutdown_on_exit=False,
        **provider,
    )
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = tracer_provider.get_tracer("saas")
    scoped = tracer_provider.get_tracer("saas.jobs", "1.2.3", attributes={"team": "core"})
    remote = SpanContext(
        0xAF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("v", "1")]),
    )
    root = tracer.start_span(
        "GET",
        context=trace.set_span_in_context(trace.NonRecordingSpan(remote)),
        kind=SpanKind.SERVER,
        attributes={
            "a": "x" * 9,
            "n": 1,
            "f": 0.5,
            "b": True,
            "raw": b"1",
            "none": None,
            "tags": ["a", "bb"],
            "mixed": [1, "a"],
            5: "five",  # type: ignore[dict-item]
            "": "empty",
        },  # fmt: skip
        start_time=1_000,
    )
    token = otel_context.attach(trace.set_span_in_context(root))
    root.set_attribute("http.route", "projects/")
    root.set_attribute("a", "replaced, moved last")
    root.set_attribute("", "dropped")
    root.set_attribute(7, "dropped one by one")  # type: ignore[arg-type]
    root.set_attributes({8: "made a str", "codes": (1, 2), "n": 2})  # type: ignore[dict-item]
    root.add_event("cache miss", {"key": "projects"}, timestamp=1_001)
    root.add_link(remote, {"why": "batch"})
    child = tracer.start_span(
        "SELECT", kind=SpanKind.CLIENT, links=[Link(remote, {"a": 1})], start_time=1_002
    )
    child.record_exception(ValueError("boom"), timestamp=1_003)
    child.set_status(Status(StatusCode.ERROR, "boom"))
    child.update_name("SELECT projects")
    child.end(end_time=1_004)
    child.end(end_time=1_005)  # ignored, as everything after the end
    child.set_attribute("late", 1)
    child.set_attributes({"late": 2})
    child.update_name("late")
    child.add_event("late")
    child.set_status(StatusCode.OK)
    with pytest.raises(RuntimeError), scoped.start_as_current_span("report", start_time=1_006) as job:
        job.set_status(StatusCode.OK, "ignored description")
        raise RuntimeError("escaped")
    tracer.start_span("internal", start_time=1_007).end(end_time=1_008)
    otel_context.detach(token)
    root.set_status(StatusCode.UNSET)
    root.end(end_time=1_009)
    dropped = tracer.start_span("last", start_time=1_010)  # recorded unless the sampler says no
    dropped.end(end_time=1_011)
    rows: list[tuple[Any, ...]] = []
    for span in exporter.get_finished_spans():
        # An event's time is the one given, or "now" (an escaping exception's).
        events = [
            (e.name, min(e.timestamp, 10_000), dict(e.attributes or {}), e.dropped_attributes)
            for e in span.events
        ]
        links = [(link.context, dict(link.attributes or {})) for link in span.links]
        rows.append((
            span.name, span.context, span.parent, span.kind,
            dict(span.attributes or {}), span.dropped_attributes, events, span.dropped_events, links,
            span.dropped_links, span.status.status_code, span.status.description, span.start_time,
            span.end_time is not None, dict(span.resource.attributes), span.instrumentation_scope,
        ))  # fmt: skip
    rows.append(("last", dropped.is_recording(), dropped.get_span_context()))
    return rows


@pytest.mark.parametrize(
    "provider",
    [
        {},
        {"span_limits": SpanLimits(max_span_attributes=4, max_span_attribute_length=3)},
        {"span_limits": SpanLimits(max_span_attributes=0)},
        {"sampler": ALWAYS_OFF},
    ],
    ids=["defaults", "limits", "no-attributes", "always-off"],
)
def test_our_spans_record_what_the_sdks_record(provider) -> None:
    ours = _recorded(otel.TracerProvider, **provider)
    assert ours == _recorded(TracerProvider, **provider)
    assert len(ours) == (1 if "sampler" in provider else 6)


def test_our_provider_makes_our_spans_and_hands_them_over_when_they_end() -> None:
    exporter = InMemorySpanExporter()
    provider = otel.TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("saas")
    assert type(tracer) is otel.Tracer and provider.get_tracer("saas") is tracer
    span = tracer.start_span("s", attributes={"k": "v"})
    assert type(span) is otel.Span and span.is_recording()
    span.end()
    (finished,) = exporter.get_finished_spans()
    assert finished is span and not span.is_recording()
    with pytest.raises(TypeError):  # what the exporter reads cannot be changed through it
        finished.attributes["k"] = "changed"  # type: ignore[index]


def test_the_sampler_starts_spans_with_the_log_context_and_keeps_the_delegates_decision() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        sampler=LogContextSampler(ParentBased(TraceIdRatioBased(1.0))), shutdown_on_exit=False
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("saas")
    with bound_request_context(tenant_id="t_acme", user_id=7, request_id="r1"):
        tracer.start_span("bound", attributes={"own": "kept", "tenant.id": "overridden"}).end()
    tracer.start_span("unbound").end()
    bound, unbound = exporter.get_finished_spans()
    assert dict(bound.attributes or {}) == {
        "own": "kept",
        "tenant.id": "t_acme",
        "enduser.id": "7",
        "http.request_id": "r1",
    }
    assert dict(unbound.attributes or {}) == {}
    off = TracerProvider(sampler=LogContextSampler(ALWAYS_OFF), shutdown_on_exit=False).get_tracer("saas")
    with bound_request_context(tenant_id="t_acme"):
        assert not off.start_span("dropped").is_recording()


def test_the_log_context_reaches_spans_as_it_is_bound_and_unbound() -> None:
    exporter = InMemorySpanExporter()
    provider = otel.TracerProvider(sampler=LogContextSampler(ALWAYS_ON), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("saas")
    clear_request_context()
    request = tracer.start_span("request")  # started before anything is bound, as a request's is
    with trace.use_span(request, end_on_exit=True):
        bind_request_context(request_id="r1", tenant_id="public")  # the current span gets them too
        with bound_request_context(tenant_id="t_acme"):  # only the spans started inside
            tracer.start_span("relay").end()
        tracer.start_span("after").end()
    clear_request_context()
    tracer.start_span("next request").end()
    tenants = {span.name: (span.attributes or {}).get("tenant.id") for span in exporter.get_finished_spans()}
    assert tenants == {"relay": "t_acme", "after": "public", "request": "public", "next request": None}


TRACING_INIT = (
    "import django; django.setup(); from opentelemetry import trace; "
    "from saas import telemetry; from saas.observability import bind_request_context; "
    "telemetry.tracing_init('test'); bind_request_context(tenant_id='t_acme'); "
    "span = trace.get_tracer('t').start_span('s'); "
    "print('RESULT', telemetry._provider.sampler.get_description(), span.is_recording(), "
    "dict(getattr(span, 'attributes', None) or {}))"
)


@pytest.mark.parametrize(
    ("sampler", "described", "recording"),
    [
        (None, "LogContextSampler{ParentBased{root:AlwaysOnSampler,", True),
        ("always_off", "LogContextSampler{AlwaysOffSampler}", False),
    ],
)
def test_tracing_wraps_the_sampler_the_environment_names(sampler, described, recording) -> None:
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "SENTRY_DSN": ""}
    env.pop("OTEL_TRACES_SAMPLER", None)
    if sampler:
        env["OTEL_TRACES_SAMPLER"] = sampler
    done = subprocess.run(
        [sys.executable, "-c", TRACING_INIT], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert line.startswith(f"RESULT {described}"), line
    assert f" {recording} " in line, line
    assert ("'tenant.id': 't_acme'" in line) is recording, line
