"""The stand-in's HTTP server and in-memory state (see the package docstring)."""

from __future__ import annotations

import html
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from billing.stripe_fake.signing import API_VERSION, _new_id, event_payload, webhook_signature_header


def _form_decode(body: str) -> dict[str, Any]:
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


class FakeStripe:
    """In-memory Stripe state plus the HTTP server that serves it."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str = "",
        webhook_secret: str = "",
        prices: dict[str, int] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.lock = threading.RLock()
        self.customers: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.checkout_sessions: dict[str, dict] = {}
        self.portal_sessions: dict[str, dict] = {}
        self.invoices: dict[str, dict] = {}
        self.idempotent: dict[str, tuple[int, dict]] = {}
        self.requests: list[tuple[str, str]] = []
        self.prices = {
            price_id: {
                "id": price_id,
                "object": "price",
                "unit_amount": amount,
                "currency": "usd",
                "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
                "active": True,
                "type": "recurring",
                "billing_scheme": "per_unit",
                "product": f"prod_{price_id}",
                "created": int(time.time()),
                "livemode": False,
                "metadata": {},
            }
            for price_id, amount in (prices or {"price_pro": 2900, "price_business": 9900}).items()
        }
        self.products = {
            price["product"]: {
                "id": price["product"],
                "object": "product",
                "name": price_id,
                "active": True,
                "created": int(time.time()),
                "livemode": False,
                "metadata": {},
                "type": "service",
            }
            for price_id, price in self.prices.items()
        }
        self.server: ThreadingHTTPServer | None = None
        self.down = False
        self.account = {
            "id": "acct_fake",
            "object": "account",
            "type": "standard",
            "country": "US",
            "default_currency": "usd",
            "email": "billing@example.com",
            "charges_enabled": True,
            "payouts_enabled": True,
            "details_submitted": True,
            "settings": {},
            "metadata": {},
        }

    # --- serving -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

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

    # --- state changes (also used directly by tests) -------------------------------------
    def customer_create(self, params: dict[str, Any]) -> dict:
        customer: dict[str, Any] = {
            "id": _new_id("cus"),
            "object": "customer",
            "email": params.get("email"),
            "name": params.get("name"),
            "metadata": params.get("metadata") or {},
            "created": int(time.time()),
            "livemode": False,
            "balance": 0,
            "currency": None,
            "delinquent": False,
            "invoice_prefix": "FAKE",
            "invoice_settings": {},
            "preferred_locales": [],
            "tax_exempt": "none",
        }
        self.customers[customer["id"]] = customer
        return customer

    def subscription_create(
        self, *, customer: str, price: str, quantity: int = 1, status: str = "active"
    ) -> dict:
        now = int(time.time())
        subscription_id = _new_id("sub")
        subscription = {
            "id": subscription_id,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "livemode": False,
            "created": now,
            "start_date": now,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "ended_at": None,
            "metadata": {},
            "collection_method": "charge_automatically",
            "items": {
                "object": "list",
                "has_more": False,
                "data": [
                    {
                        "id": _new_id("si"),
                        "object": "subscription_item",
                        "price": self.prices[price],
                        "quantity": quantity,
                        "subscription": subscription_id,
                        "current_period_start": now,
                        "current_period_end": now + 30 * 86400,
                    }
                ],
            },
            "latest_invoice": None,
        }
        with self.lock:
            self.subscriptions[subscription_id] = subscription
            invoice = self.invoice_create(subscription=subscription, paid=status == "active")
            subscription["latest_invoice"] = invoice["id"]
        return subscription

    def subscription_set(self, subscription_id: str, **changes: Any) -> dict:
        """Change a subscription in place (status, price, quantity)."""
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            item = subscription["items"]["data"][0]
            if "price" in changes:
                item["price"] = self.prices[changes.pop("price")]
            if "quantity" in changes:
                item["quantity"] = changes.pop("quantity")
            if changes.get("status") == "canceled":
                subscription["canceled_at"] = subscription["ended_at"] = int(time.time())
            subscription.update(changes)
            return subscription

    def invoice_create(self, *, subscription: dict, paid: bool) -> dict:
        item = subscription["items"]["data"][0]
        amount = item["price"]["unit_amount"] * item["quantity"]
        invoice_id = _new_id("in")
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "customer": subscription["customer"],
            "subscription": subscription["id"],
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription["id"]},
            },
            "status": "paid" if paid else "open",
            "amount_due": amount,
            "amount_paid": amount if paid else 0,
            "currency": "usd",
            "created": int(time.time()),
            "number": f"FAKE-{len(self.invoices) + 1:04d}",
            "hosted_invoice_url": f"{self.url}/invoice/{invoice_id}",
            "livemode": False,
        }
        self.invoices[invoice_id] = invoice
        return invoice

    def checkout_complete(self, session_id: str) -> dict:
        """What paying on Stripe's hosted page does: subscription, paid invoice, webhooks."""
        with self.lock:
            session = self.checkout_sessions[session_id]
            item = session["line_items"][0]
            subscription = self.subscription_create(
                customer=session["customer"], price=item["price"], quantity=int(item.get("quantity") or 1)
            )
            session.update(status="complete", payment_status="paid", subscription=subscription["id"])
        invoice = self.invoices[subscription["latest_invoice"]]
        for event_type, data in (
            ("checkout.session.completed", session),
            ("customer.subscription.created", subscription),
            ("invoice.paid", invoice),
        ):
            self.webhook_send(event_type, data)
        return subscription

    def webhook_send(self, event_type: str, data: dict) -> None:
        """Post a signed event to `webhook_url` (no-op when none is configured)."""
        if not self.webhook_url:
            return
        payload = event_payload(event_type, json.loads(json.dumps(data)))
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": webhook_signature_header(payload, self.webhook_secret),
        }
        try:
            requests.post(self.webhook_url, data=payload.encode(), headers=headers, timeout=10)
        except requests.RequestException as error:  # Stripe would retry later; say so and go on
            print(f"stripe_fake: webhook {event_type} not delivered: {error}")

    # --- the API -------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, query: dict[str, Any], params: dict[str, Any]
    ) -> tuple[int, Any]:
        self.requests.append((method, path))
        routes: list[tuple[str, str, Any]] = [
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
                lambda: self._list(
                    [i for i in self.invoices.values() if i["customer"] == query.get("customer")],
                    int(query.get("limit") or 10),
                    "/v1/invoices",
                ),
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

    def _checkout_create(self, params: dict[str, Any]) -> dict:
        if params.get("mode") != "subscription" or not params.get("customer"):
            raise KeyError("checkout needs mode=subscription and a customer")
        for item in params.get("line_items") or []:
            self.prices[item["price"]]  # noqa: B018  # an unknown price is a 404, as at Stripe
        session_id = _new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "customer": params["customer"],
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata") or {},
            "line_items": params.get("line_items") or [],
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "subscription": None,
            "payment_status": "unpaid",
            "livemode": False,
            "url": f"{self.url}/checkout/{session_id}",
        }
        self.checkout_sessions[session_id] = session
        return session

    def _portal_create(self, params: dict[str, Any]) -> dict:
        self.customers[params["customer"]]  # noqa: B018
        session_id = _new_id("bps")
        session = {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": params["customer"],
            "return_url": params.get("return_url"),
            "url": f"{self.url}/portal/{session_id}",
            "livemode": False,
        }
        self.portal_sessions[session_id] = session
        return session

    @staticmethod
    def _list(items: list[dict], limit: int, url: str) -> dict:
        items = sorted(items, key=lambda item: item["created"], reverse=True)
        return {"object": "list", "data": items[:limit], "has_more": len(items) > limit, "url": url}

    # --- hosted pages (what a person sees at Stripe) --------------------------------------
    def page(self, method: str, path: str) -> tuple[int, str, str]:
        """(status, content, redirect location) for the hosted checkout and portal pages."""
        match = re.fullmatch(r"/(checkout|portal)/([^/]+)(/submit)?", path)
        if not match:
            return 404, "Not found", ""
        kind, session_id, submit = match.groups()
        sessions = self.checkout_sessions if kind == "checkout" else self.portal_sessions
        session = sessions.get(session_id)
        if session is None:
            return 404, "No such session", ""
        if method == "POST" and submit:
            if kind == "checkout":
                self.checkout_complete(session_id)
                return 303, "", session["success_url"] or "/"
            for subscription in list(self.subscriptions.values()):
                if subscription["customer"] == session["customer"] and subscription["status"] != "canceled":
                    self.webhook_send(
                        "customer.subscription.deleted",
                        self.subscription_set(subscription["id"], status="canceled"),
                    )
            return 303, "", session["return_url"] or "/"
        label = "Subscribe" if kind == "checkout" else "Cancel subscription"
        return (
            200,
            (
                f"<!doctype html><title>Fake Stripe {kind}</title><h1>Fake Stripe {kind}</h1>"
                f"<p>{html.escape(session_id)}</p><form method=post action='/{kind}/{session_id}/submit'>"
                f"<button>{label}</button></form>"
            ),
            "",
        )


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
            status, content, location = self.fake.page(method, parts.path)
            self._send(status, content.encode(), "text/html", location=location)
            return
        if not (self.headers.get("Authorization") or "").startswith("Bearer sk_"):
            self._json(401, {"error": {"type": "invalid_request_error", "message": "Invalid API key"}})
            return
        key = self.headers.get("Idempotency-Key")
        if method == "POST" and key and key in self.fake.idempotent:
            self._json(*self.fake.idempotent[key])
            return
        status, data = self.fake.handle(method, parts.path, dict(parse_qsl(parts.query)), _form_decode(body))
        if method == "POST" and key and status == 200:
            self.fake.idempotent[key] = (status, data)
        self._json(status, data)

    def _json(self, status: int, data: Any) -> None:
        self._send(
            status,
            json.dumps(data).encode(),
            "application/json",
            headers={"Request-Id": _new_id("req"), "Stripe-Version": API_VERSION},
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

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")
