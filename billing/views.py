"""Billing pages on tenant hosts and the Stripe webhook on the public host."""

from __future__ import annotations

import json
import time

import stripe
import structlog
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.guard import TenantRequest, tenant_member
from accounts.models import Membership
from billing.plans import PLANS, plans_paid
from billing.seats import seats_used
from billing.selectors import billing_account_get, invoices_recent
from billing.services import checkout_session_create, portal_session_create, webhook_event_receive
from billing.stripe_api import STRIPE_TRANSIENT_ERRORS, billing_enabled

logger = structlog.get_logger(__name__)


def _verify_stripe_signature(body: str, header: str, secret: str, tolerance: int) -> None:
    """stripe-python's check, whose tolerance covers old timestamps only, plus the same
    tolerance forward: a delivery signed "in the future" (by a clock far ahead, or made to
    outlive the replay window) is refused too."""
    stripe.WebhookSignature.verify_header(body, header, secret, tolerance)
    # The signature covers the timestamp, so once it verified, `t=` is Stripe's own.
    timestamps = [item.partition("=")[2] for item in header.split(",") if item.strip().startswith("t=")]
    if not timestamps or not timestamps[0].strip().isdigit():
        raise stripe.SignatureVerificationError("No valid timestamp", header, body)
    if int(timestamps[0]) > time.time() + tolerance:
        raise stripe.SignatureVerificationError("Timestamp ahead, outside the tolerance zone", header, body)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Verify, store once, acknowledge; the work happens in a task (billing.stripe_event_process)."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return HttpResponse("Stripe webhooks are not configured.", status=503)
    signature = request.headers.get("Stripe-Signature", "")
    try:
        body = request.body.decode("utf-8")
        _verify_stripe_signature(body, signature, secret, settings.STRIPE_WEBHOOK_TOLERANCE)
        payload = json.loads(body)
    except stripe.SignatureVerificationError as error:
        # Covers a missing or wrong signature and a timestamp outside the tolerance, either way.
        logger.warning("stripe webhook refused", reason=str(error))
        return HttpResponseBadRequest(f"Invalid signature: {error}")
    except (UnicodeDecodeError, ValueError):
        return HttpResponseBadRequest("Unparsable body.")
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str) or not payload["id"]:
        return HttpResponseBadRequest("Not a Stripe event.")
    _, created = webhook_event_receive(body=body, payload=payload)
    return JsonResponse({"received": True, "duplicate": not created})


billing_admins = tenant_member(role=Membership.Role.ADMIN, refused_template="billing/admins_only.html")


@require_GET
@billing_admins
def billing_page(request: TenantRequest) -> HttpResponse:
    """Plan, status, seats and invoices, with Upgrade and Manage. Owners and admins only."""
    tenant = request.tenant
    # The billing row, not the Tenant: the host -> tenant cache may be older than the last webhook.
    account = billing_account_get(tenant=tenant)
    invoices, invoices_error = [], ""
    if billing_enabled() and account.stripe_customer_id:
        try:
            invoices = invoices_recent(account=account)
        except STRIPE_TRANSIENT_ERRORS:
            invoices_error = "Invoices are unavailable right now; try again in a minute."
    return render(
        request,
        "billing/billing.html",
        {
            "membership": request.membership,
            "billing_account": account,
            "plan": account.current_plan,
            "seats_used": seats_used(tenant=tenant),
            "seat_limit": account.seat_limit,
            "plans": plans_paid(),
            "invoices": invoices,
            "invoices_error": invoices_error,
            "billing_enabled": billing_enabled(),
        },
    )


@require_POST
@billing_admins
def billing_upgrade(request: TenantRequest) -> HttpResponse:
    """Send an admin to Stripe Checkout for the chosen plan."""
    plan = PLANS.get(request.POST.get("plan", ""))
    if plan is None or not plan.is_paid:
        messages.error(request, "Choose a plan to upgrade to.")
        return redirect("billing")
    if not billing_enabled():
        messages.error(request, "Billing is not configured on this server.")
        return redirect("billing")
    try:
        url = checkout_session_create(
            tenant=request.tenant,
            plan=plan,
            actor=request.user,
            success_url=request.build_absolute_uri("/billing/?checkout=success"),
            cancel_url=request.build_absolute_uri("/billing/?checkout=canceled"),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("billing")
    except STRIPE_TRANSIENT_ERRORS:
        messages.error(request, "Stripe is unreachable right now; nothing was charged. Try again shortly.")
        return redirect("billing")
    return redirect(url)


@require_POST
@billing_admins
def billing_portal(request: TenantRequest) -> HttpResponse:
    """Send an admin to the Stripe customer portal (payment method, invoices, cancel)."""
    if not billing_enabled():
        messages.error(request, "Billing is not configured on this server.")
        return redirect("billing")
    try:
        url = portal_session_create(
            tenant=request.tenant,
            return_url=request.build_absolute_uri("/billing/"),
        )
    except STRIPE_TRANSIENT_ERRORS:
        messages.error(request, "Stripe is unreachable right now. Try again shortly.")
        return redirect("billing")
    return redirect(url)
