"""A loopback receiver for what the processes export: OTLP/HTTP traces and Sentry envelopes
(tests/e2e/test_observability*.py, bench/tracing.py).

`/v1/traces` bodies are decoded with opentelemetry-proto into flat `Span`s; Sentry envelopes
(`/api/<project>/envelope/`, gzip or not) into their JSON items. A DSN for the sink is
`http://public@127.0.0.1:<port>/1`.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from devtools.processes import wait_until


@dataclasses.dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status_code: int = 0  # 0 unset, 1 ok, 2 error


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


def decode_spans(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    Span(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        name=span.name,
                        kind=span.kind,
                        attributes=_attributes(span.attributes),
                        resource=resource,
                        status_code=span.status.code,
                    )
                )
    return spans


def decode_envelope(body: bytes) -> list[dict[str, Any]]:
    """The items of a Sentry envelope (events, transactions), each with its item type."""
    _, _, rest = body.partition(b"\n")  # the envelope's own header
    items: list[dict[str, Any]] = []
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        if not header_line.strip():
            continue
        header = json.loads(header_line)
        length = header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length + 1 :]
        try:
            items.append({"type": header.get("type"), "item": json.loads(payload)})
        except ValueError:
            items.append({"type": header.get("type"), "raw": payload.decode(errors="replace")})
    return items


class TelemetrySink:
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                if encoding == "gzip":
                    raw = gzip.decompress(raw)
                elif encoding == "deflate":
                    raw = zlib.decompress(raw)
                with sink.lock:
                    sink.posts.append((self.path, dict(self.headers.items()), raw))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sentry_dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.port}/1"

    def span_count(self) -> int:
        return len(self.spans())

    def spans(self) -> list[Span]:
        with self.lock:
            bodies = [body for path, _, body in self.posts if path == "/v1/traces"]
        return [span for body in bodies for span in decode_spans(body)]

    def sentry_items(self) -> list[dict[str, Any]]:
        with self.lock:
            bodies = [body for path, _, body in self.posts if path.endswith("/envelope/")]
        return [item for body in bodies for item in decode_envelope(body)]

    def sentry_raw(self) -> bytes:
        with self.lock:
            return b"\n".join(body for path, _, body in self.posts if path.startswith("/api/"))

    def wait_for_span(self, predicate: Any, *, timeout: float = 20.0, message: str = "a span") -> Span:
        def found() -> Span | None:
            return next((span for span in self.spans() if predicate(span)), None)

        result: Span = wait_until(found, timeout=timeout, message=message)
        return result

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
