"""The SDK parts of saas.otel: the exporter's encoding and the log-context sampler.

saas.otel.spans_encode builds the same OTLP request as the library's encode_spans.

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
import structlog
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from saas.otel import LogContextSampler, spans_encode


def _spans(resource: Resource, *, limits: SpanLimits | None = None) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=resource, span_limits=limits)
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
    ours, theirs = spans_encode(spans), encode_spans(spans)
    assert ours == theirs, f"ours:\n{ours}\ntheirs:\n{theirs}"
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(deterministic=True)


def test_the_request_equals_the_librarys_for_spans_of_every_shape() -> None:
    first = Resource.create({"service.name": "saas-web", "process.pid": 1})
    second = Resource(
        {"service.name": "saas-worker", "saas.role": "worker"}, "https://opentelemetry.io/schemas/1.26.0"
    )
    equal_to_first = Resource(dict(first.attributes))
    spans = _spans(first) + _spans(second, limits=SpanLimits(max_span_attributes=4)) + _spans(equal_to_first)
    assert any(span.dropped_attributes for span in spans)
    assert len({id(span.resource) for span in spans}) == 3
    _compare(spans)
    request = spans_encode(spans)
    assert len(request.resource_spans) == 2  # equal resources are one, as the library groups them
    assert [len(r.scope_spans) for r in request.resource_spans] == [2, 2]


def test_an_empty_batch_and_an_attribute_of_no_exportable_type() -> None:
    _compare([])
    spans = _spans(Resource.create({"service.name": "saas-web"}))
    span: Any = spans[0]
    # The SDK refuses such a value; an exporter handed one anyway leaves it out, as the library does.
    span._attributes = {**span.attributes, "odd": object(), "after": "kept"}
    _compare(spans)
    encoded = spans_encode(spans)
    keys = [pair.key for pair in encoded.resource_spans[0].scope_spans[0].spans[0].attributes]
    assert "odd" not in keys and "after" in keys


def test_the_sampler_starts_spans_with_the_log_context_and_keeps_the_delegates_decision() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        sampler=LogContextSampler(ParentBased(TraceIdRatioBased(1.0))), shutdown_on_exit=False
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("saas")
    with structlog.contextvars.bound_contextvars(tenant_id="t_acme", user_id=7, request_id="r1"):
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
    with structlog.contextvars.bound_contextvars(tenant_id="t_acme"):
        assert not off.start_span("dropped").is_recording()


TRACING_INIT = (
    "import django; django.setup(); import structlog; from opentelemetry import trace; "
    "from saas import telemetry; telemetry.tracing_init('test'); "
    "structlog.contextvars.bind_contextvars(tenant_id='t_acme'); "
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
