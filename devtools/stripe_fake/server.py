"""The stand-in's HTTP side: serving, the API's routes, Stripe's form encoding.

API requests (`/v1/...`) need a `Bearer sk_...` key and honour `Idempotency-Key` on POSTs,
as Stripe's do; anything else is a hosted page (pages.py).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from devtools.stripe_fake.pages import hosted_page
from devtools.stripe_fake.signing import API_VERSION, new_id
from devtools.stripe_fake.state import StripeState


def form_decode(body: str) -> dict[str, Any]:
    """Decode Stripe's form encoding (`items[0][price]=x`, `metadata[k]=v`) to nested data."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = result
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, {})
    return _lists(result)


def _lists(node: Any) -> Any:
    # `{"0": a, "1": b}` came from `x[0]`, `x[1]`: it was a list.
    if isinstance(node, dict):
        node = {key: _lists(value) for key, value in node.items()}
        if node and all(key.isdigit() for key in node):
            return [node[key] for key in sorted(node, key=int)]
    return node


class FakeStripe(StripeState):
    """Stripe's state (state.py) served over HTTP on a loopback port."""

    server: ThreadingHTTPServer | None = None
    down = False  # stopped: connections still open are hung up

    def start(self) -> FakeStripe:
        """Serve on the same port as before (a restart after `stop()` keeps the URL)."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self.down = False
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer((self.host, self.port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving: clients now get connection refused, as if Stripe were unreachable."""
        # Kept-alive connections outlive the listening socket: they hang up from now on.
        self.down = True
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def handle(
        self, method: str, path: str, query: dict[str, Any], params: dict[str, Any]
    ) -> tuple[int, Any]:
        """One API request: (status, JSON-able body), Stripe's error shape for what is missing."""
        self.requests.append((method, path))
        routes: list[tuple[str, str, Callable[..., Any]]] = [
            ("POST", r"/v1/customers", lambda: self.customer_create(params)),
            ("GET", r"/v1/customers/(?P<id>[^/]+)", lambda id: self.customers[id]),
            ("GET", r"/v1/prices/(?P<id>[^/]+)", lambda id: self.prices[id]),
            ("GET", r"/v1/account", lambda: self.account),
            ("GET", r"/v1/products/(?P<id>[^/]+)", lambda id: self.products[id]),
            ("POST", r"/v1/checkout/sessions", lambda: self._checkout_create(params)),
            ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)", lambda id: self.checkout_sessions[id]),
            ("POST", r"/v1/billing_portal/sessions", lambda: self._portal_create(params)),
            ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", lambda id: self.subscriptions[id]),
            (
                "POST",
                r"/v1/subscriptions",
                lambda: self.subscription_create(
                    customer=params["customer"],
                    price=params["items"][0]["price"],
                    quantity=int(params["items"][0].get("quantity") or 1),
                ),
            ),
            (
                "DELETE",
                r"/v1/subscriptions/(?P<id>[^/]+)",
                lambda id: self.subscription_set(id, status="canceled"),
            ),
            (
                "GET",
                r"/v1/invoices",
                lambda: self.invoices_of(query.get("customer"), limit=int(query.get("limit") or 10)),
            ),
        ]
        for route_method, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if match and method == route_method:
                try:
                    with self.lock:
                        return 200, action(**match.groupdict())
                except KeyError as missing:
                    return 404, {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "resource_missing",
                            "message": f"No such object: {missing}",
                        }
                    }
        return 404, {
            "error": {
                "type": "invalid_request_error",
                "message": f"Unrecognized request URL ({method} {path})",
            }
        }


class _Handler(BaseHTTPRequestHandler):
    fake: FakeStripe
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the state instead
        return

    def _dispatch(self, method: str) -> None:
        if self.fake.down:
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if not parts.path.startswith("/v1/"):
            status, content, location = hosted_page(self.fake, method, parts.path)
            self._send(status, content.encode(), "text/html", location=location)
            return
        if not (self.headers.get("Authorization") or "").startswith("Bearer sk_"):
            self._json(401, {"error": {"type": "invalid_request_error", "message": "Invalid API key"}})
            return
        key = self.headers.get("Idempotency-Key")
        if method == "POST" and key and key in self.fake.idempotent:
            self._json(*self.fake.idempotent[key])
            return
        status, data = self.fake.handle(method, parts.path, dict(parse_qsl(parts.query)), form_decode(body))
        if method == "POST" and key and status == 200:
            self.fake.idempotent[key] = (status, data)
        self._json(status, data)

    def _json(self, status: int, data: Any) -> None:
        self._send(
            status,
            json.dumps(data).encode(),
            "application/json",
            headers={"Request-Id": new_id("req"), "Stripe-Version": API_VERSION},
        )

    def _send(
        self,
        status: int,
        content: bytes,
        content_type: str,
        *,
        location: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        if location:
            self.send_header("Location", location)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(content)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")
