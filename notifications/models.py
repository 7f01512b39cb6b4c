from django.conf import settings
from django.db import models


class Notification(models.Model):
    """A message for one member of the tenant, shown on the dashboard until read."""

    # No database-level foreign key into public (see activity.models.AuditEvent).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    url = models.CharField(max_length=300, blank=True)
    # The domain event this notification reports: one notification per event and person,
    # however often the event is dispatched.
    event_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event_id", "user"], name="notifications_once_per_event_user"),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="notifications_user_recent_idx")]

    def __str__(self) -> str:
        return self.title
