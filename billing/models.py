from django.db import models


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
