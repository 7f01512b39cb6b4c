"""An HTTP server on loopback recording POSTed JSON (Slack, analytics); chosen paths answer 500."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devtools.processes import wait_until


class HttpSink:
    """Records POSTed JSON per path; paths in `.failing` answer 500."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any, bool]] = []  # path, body, answered 500
        self.failing: set[str] = set()
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode(errors="replace")
                path = self.path
                failing = path in sink.failing
                with sink.lock:
                    sink.requests.append((path, body, failing))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"fail" if failing else b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str, *, accepted_only: bool = True) -> list[Any]:
        with self.lock:
            return [b for p, b, failed in self.requests if p == path and not (accepted_only and failed)]

    def attempts(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _, _ in self.requests if p == path)

    def wait_for(
        self, path: str, count: int = 1, timeout: float = 15.0, accepted_only: bool = True
    ) -> list[Any]:
        if accepted_only:
            wait_until(
                lambda: len(self.received(path)) >= count,
                timeout=timeout,
                message=f"{count} accepted POST(s) to {path}",
            )
            return self.received(path)
        wait_until(
            lambda: self.attempts(path) >= count,
            timeout=timeout,
            message=f"{count} POST attempt(s) to {path}",
        )
        return self.received(path, accepted_only=False)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
