"""Data lifecycle records, in the public schema: they outlive the organizations they describe."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class OrganizationDeletion(models.Model):
    """An owner's request to delete an organization, and, once done, the record that it was.

    `scheduled` until `due_at` (the grace period, cancellable by an owner), then `deleting`
    while the job runs (no longer cancellable: Stripe may already be told), then `deleted`
    with its summary; or `canceled`. The row stays after the tenant is gone: slug, name and
    who asked are copied here so it still reads right.
    """

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELED = "canceled", "Canceled"
        DELETING = "deleting", "Deleting"
        DELETED = "deleted", "Deleted"

    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    slug = models.CharField(max_length=63)
    name = models.CharField(max_length=100)
    schema_name = models.CharField(max_length=63)
    state = models.CharField(max_length=16, choices=State.choices, default=State.SCHEDULED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_email = models.EmailField()
    requested_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(db_index=True)
    canceled_by_email = models.EmailField(blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # What the deletion removed: counts of members, invitations, domains, keys; the Stripe
    # subscription it canceled; the tenant's audit rows (dropped with its schema).
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            # One open request per organization, whoever clicks: the second one is refused.
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(state__in=["scheduled", "deleting"]),
                name="lifecycle_one_open_deletion_per_tenant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slug}: {self.state}"


class OrganizationExport(models.Model):
    """An owner's export of the organization's data: a zip in default_storage, made by a task.

    Its own small model until the `jobs` app's Job lands in main: the work is
    `lifecycle.export.export_write()`, which a Job can call unchanged; this row then becomes
    a Job of kind "export" (state, file, who asked) and `lifecycle.tasks.tenant_export` a job.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    file_name = models.CharField(max_length=300, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One export at a time per organization: a second click waits for the first.
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(state="pending"),
                name="lifecycle_one_pending_export_per_tenant",
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} of tenant {self.tenant_id}: {self.state}"
