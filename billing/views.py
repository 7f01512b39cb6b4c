"""Billing pages on tenant hosts and the Stripe webhook on the public host."""

from __future__ import annotations

import json
import time

import stripe
import structlog
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.selectors import membership_get
from billing.plans import PLANS, plans_paid
from billing.selectors import invoices_recent, seats_used, tenant_plan, tenant_seat_limit
from billing.services import checkout_session_create, portal_session_create, webhook_event_receive
from billing.stripe_api import STRIPE_TRANSIENT_ERRORS, billing_enabled
from saas.hosts import public_url
from tenants.models import Tenant

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


def _admin_membership(request: HttpRequest) -> tuple[Membership | None, HttpResponse | None]:
    tenant = request.tenant  # type: ignore[attr-defined]
    if not request.user.is_authenticated:
        return None, redirect_to_login(request.build_absolute_uri(), public_url("/login/"))
    membership = membership_get(user=request.user, tenant=tenant)  # type: ignore[arg-type]
    if membership is None:
        return None, render(request, "tenants/not_a_member.html", status=403)
    if not membership.is_admin:
        return None, render(request, "billing/admins_only.html", status=403)
    return membership, None


def billing_page(request: HttpRequest) -> HttpResponse:
    """Plan, status, seats and invoices, with Upgrade and Manage. Owners and admins only."""
    membership, refusal = _admin_membership(request)
    if refusal:
        return refusal
    # Read afresh: the host -> tenant cache may hold a copy from before a webhook changed the plan.
    tenant = Tenant.objects.get(pk=request.tenant.pk)  # type: ignore[attr-defined]
    invoices, invoices_error = [], ""
    if billing_enabled() and tenant.stripe_customer_id:
        try:
            invoices = invoices_recent(tenant=tenant)
        except STRIPE_TRANSIENT_ERRORS:
            invoices_error = "Invoices are unavailable right now; try again in a minute."
    return render(
        request,
        "billing/billing.html",
        {
            "membership": membership,
            "tenant": tenant,
            "plan": tenant_plan(tenant=tenant),
            "seats_used": seats_used(tenant=tenant),
            "seat_limit": tenant_seat_limit(tenant=tenant),
            "plans": plans_paid(),
            "invoices": invoices,
            "invoices_error": invoices_error,
            "billing_enabled": billing_enabled(),
        },
    )


@require_POST
def billing_upgrade(request: HttpRequest) -> HttpResponse:
    """Send an admin to Stripe Checkout for the chosen plan."""
    membership, refusal = _admin_membership(request)
    if refusal:
        return refusal
    plan = PLANS.get(request.POST.get("plan", ""))
    if plan is None or not plan.is_paid:
        messages.error(request, "Choose a plan to upgrade to.")
        return redirect("billing")
    if not billing_enabled():
        messages.error(request, "Billing is not configured on this server.")
        return redirect("billing")
    try:
        url = checkout_session_create(
            tenant=request.tenant,  # type: ignore[attr-defined]
            plan=plan,
            actor=request.user,  # type: ignore[arg-type]
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
def billing_portal(request: HttpRequest) -> HttpResponse:
    """Send an admin to the Stripe customer portal (payment method, invoices, cancel)."""
    membership, refusal = _admin_membership(request)
    if refusal:
        return refusal
    if not billing_enabled():
        messages.error(request, "Billing is not configured on this server.")
        return redirect("billing")
    try:
        url = portal_session_create(
            tenant=request.tenant,  # type: ignore[attr-defined]
            return_url=request.build_absolute_uri("/billing/"),
        )
    except STRIPE_TRANSIENT_ERRORS:
        messages.error(request, "Stripe is unreachable right now. Try again shortly.")
        return redirect("billing")
    return redirect(url)
