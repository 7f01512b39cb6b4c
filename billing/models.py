from django.db import models

from billing.plans import FREE, Plan, plan_get


class BillingAccount(models.Model):
    """A tenant's billing state: plan, status, seats bought and its Stripe customer.

    One row per tenant, made on first use (`billing.selectors.billing_account_get`) and
    changed only by billing's services (`subscription_apply`, `past_due_downgrade`,
    `customer_ensure`). It lives apart from the Tenant so that the host -> tenant cache
    (`tenants.resolution`), which may serve a Tenant a couple of seconds old, never holds a
    plan: pages read this row afresh, in one query.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Canceled"

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="billing_account")
    # A code from billing/plans.py (an unknown one, a plan since removed, reads as Free).
    plan = models.CharField(max_length=32, default=FREE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # Seats bought (a subscription's quantity can exceed the plan's included seats); None: the plan's.
    seats = models.PositiveIntegerField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Webhooks find their tenant by customer id: one customer can belong to one tenant only.
            models.UniqueConstraint(
                fields=["stripe_customer_id"],
                condition=~models.Q(stripe_customer_id=""),
                name="billing_account_stripe_customer_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"billing of tenant {self.tenant_id}: {self.plan} ({self.status})"

    @property
    def current_plan(self) -> Plan:
        """The plan (seats included, features) this account is on now."""
        return plan_get(self.plan)

    @property
    def seat_limit(self) -> int | None:
        """Seats the tenant may fill (every registered seat counter together); None: no limit."""
        included = self.current_plan.seats
        if included is None:
            return None
        return max(included, self.seats or 0)


class WebhookEvent(models.Model):
    """One Stripe event as received: the durable inbox, one row per Stripe event id.

    The row is written before the webhook is acknowledged, so an event Stripe was told we
    have is never lost; processing happens later in a task and can be replayed.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (type not handled)"
        UNMATCHED = "unmatched", "Unmatched (no tenant for its customer)"
        FAILED = "failed", "Failed"

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=128, db_index=True)
    livemode = models.BooleanField(default=False)
    # The body exactly as Stripe sent it (the signature covers these bytes).
    body = models.TextField()
    payload = models.JSONField(default=dict)
    stripe_created = models.DateTimeField(null=True, blank=True)
    customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"
