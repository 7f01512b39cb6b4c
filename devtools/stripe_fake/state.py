"""The stand-in's in-memory Stripe objects and the changes Stripe would make to them.

Customers, prices and products, checkout and portal sessions, subscriptions and invoices.
Tests call these methods directly to put Stripe in the state a case needs; the HTTP API
(server.py) and the hosted pages (pages.py) call the same methods.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from devtools.stripe_fake.signing import new_id, signed_event_post


class StripeState:
    """What Stripe knows, in memory; `url` is where the stand-in is served."""

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

    @property
    def url(self) -> str:
        """The stand-in's address: hosted pages and invoices link there."""
        return f"http://{self.host}:{self.port}"

    def customer_create(self, params: dict[str, Any]) -> dict:
        customer: dict[str, Any] = {
            "id": new_id("cus"),
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
        subscription_id = new_id("sub")
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
                        "id": new_id("si"),
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
        invoice_id = new_id("in")
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

    def invoices_of(self, customer: str | None, *, limit: int) -> dict:
        """A customer's invoices, newest first, as one page of Stripe's list object."""
        invoices = sorted(
            (invoice for invoice in self.invoices.values() if invoice["customer"] == customer),
            key=lambda invoice: invoice["created"],
            reverse=True,
        )
        return {
            "object": "list",
            "data": invoices[:limit],
            "has_more": len(invoices) > limit,
            "url": "/v1/invoices",
        }

    def _checkout_create(self, params: dict[str, Any]) -> dict:
        if params.get("mode") != "subscription" or not params.get("customer"):
            raise KeyError("checkout needs mode=subscription and a customer")
        for item in params.get("line_items") or []:
            self.prices[item["price"]]  # an unknown price is a 404, as at Stripe
        session_id = new_id("cs_test")
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
        self.customers[params["customer"]]  # an unknown customer is a 404
        session_id = new_id("bps")
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

    def portal_cancel(self, session_id: str) -> None:
        """What cancelling in Stripe's customer portal does: every live subscription ends, with webhooks."""
        customer = self.portal_sessions[session_id]["customer"]
        for subscription in list(self.subscriptions.values()):
            if subscription["customer"] == customer and subscription["status"] != "canceled":
                self.webhook_send(
                    "customer.subscription.deleted",
                    self.subscription_set(subscription["id"], status="canceled"),
                )

    def webhook_send(self, event_type: str, data: dict) -> None:
        """Post a signed event to `webhook_url` (no-op when none is configured)."""
        if self.webhook_url:
            signed_event_post(self.webhook_url, self.webhook_secret, event_type, data)
