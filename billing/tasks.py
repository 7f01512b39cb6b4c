"""Billing tasks: ids in, a service call, safe to run twice."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django_tenants.utils import schema_context

from accounts.models import User
from billing.plans import plan_get
from billing.services import past_due_downgrade, webhook_event_failure_record, webhook_event_process
from billing.stripe_api import STRIPE_TRANSIENT_ERRORS
from saas.deliveries import TRANSIENT_ERRORS, DeliveryTask, delivery_run
from saas.email import email_send
from saas.tasking import SchemaScope
from tenants.models import Tenant
from tenants.selectors import tenant_absolute_url


class StripeEventTask(DeliveryTask):
    """A delivery that also retries while Stripe is unreachable and shows failures on the event."""

    abstract = True
    autoretry_for = TRANSIENT_ERRORS + STRIPE_TRANSIENT_ERRORS

    def on_retry(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        super().on_retry(exc, task_id, args, kwargs, einfo)
        webhook_event_failure_record(webhook_event_id=kwargs["webhook_event_id"], error=exc)

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        super().on_failure(exc, task_id, args, kwargs, einfo)
        webhook_event_failure_record(webhook_event_id=kwargs["webhook_event_id"], error=exc)


@shared_task(base=StripeEventTask, bind=True, name="billing.stripe_event_process")
def stripe_event_process(self: Any, *, delivery_id: int, webhook_event_id: int) -> None:
    """Apply one stored Stripe event (retried with backoff; dead events are replayable)."""
    with delivery_run(delivery_id) as delivery:
        if delivery is None:
            return
        webhook_event_process(webhook_event_id=webhook_event_id)


@shared_task(base=DeliveryTask, bind=True, name="billing.plan_email_send")
def plan_email_send(
    self: Any, *, delivery_id: int, tenant_id: int, user_id: int, template: str, new_plan: str, old_plan: str
) -> None:
    """Tell one owner about a plan change or a failed payment."""
    with delivery_run(delivery_id) as delivery:
        if delivery is None:
            return
        with schema_context("public"):
            tenant = Tenant.objects.get(pk=tenant_id)
            user = User.objects.get(pk=user_id)
            billing_url = tenant_absolute_url(tenant=tenant, path="/billing/")
        email_send(
            to=user.email,
            template=f"billing/email/{template}",
            context={
                "tenant": tenant,
                "user": user,
                "plan": plan_get(new_plan),
                "old_plan": plan_get(old_plan),
                "billing_url": billing_url,
            },
            idempotency_key=delivery.key,
        )


@shared_task(name="billing.past_due_downgrade", ignore_result=True, schema_scope=SchemaScope.PUBLIC)
def past_due_downgrade_task() -> int:
    """Beat: tenants past due beyond BILLING_GRACE_DAYS fall back to Free."""
    return past_due_downgrade()
