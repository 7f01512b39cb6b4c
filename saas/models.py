import uuid

from django.db import models


class OutboxEvent(models.Model):
    """A domain event written in the transaction that caused it, dispatched after commit."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DISPATCHED = "dispatched", "Dispatched"
        # Never dispatchable (its name is no longer declared, its payload does not fit the type).
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    # Schema of the tenant the event belongs to; receivers run in it ("public" when none).
    tenant_schema = models.CharField(max_length=63, default="public")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # A dispatcher's claim on the row; a claim that outlives its process expires.
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # W3C trace context of the span that wrote the row (empty when tracing is off): its
    # dispatch, by the relay or by a sweeper much later, continues that trace. A database
    # default too: code from before this column (a rolling deploy) still inserts rows.
    traceparent = models.CharField(max_length=55, blank=True, default="", db_default="")
    tracestate = models.CharField(max_length=512, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="saas_outbox_pending_idx",
                condition=models.Q(state="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.id}"


class TaskDelivery(models.Model):
    """One side effect of one event on one channel (an email, a webhook post).

    Its key (`<event id>:<channel>`) makes the effect happen once however often the event is
    dispatched or the task delivered; its state shows staff what failed and lets them retry.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        DEAD = "dead", "Dead"

    key = models.CharField(max_length=200, unique=True)
    task_name = models.CharField(max_length=200)
    task_kwargs = models.JSONField(default=dict)
    tenant_schema = models.CharField(max_length=63, default="public")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "task deliveries"
        indexes = [models.Index(fields=["state", "created_at"], name="saas_delivery_state_idx")]

    def __str__(self) -> str:
        return self.key
