from django.conf import settings
from django.db import models


class Job(models.Model):
    """A background report requested by a member: queued -> running -> done | failed."""

    class Kind(models.TextChoices):
        MEMBERS_CSV = "members_csv", "Members (CSV)"
        ACTIVITY_CSV = "activity_csv", "Activity over a date range (CSV)"
        SUMMARY_XLSX = "summary_xlsx", "Organization summary (XLSX)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The validated request (jobs.forms.ReportParams): dates as ISO strings.
    params = models.JSONField(default=dict, blank=True)
    # No database-level foreign key into public (see activity.models.AuditEvent).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    rows = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    file = models.FileField(upload_to="jobs/", max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="jobs_requester_recent_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
