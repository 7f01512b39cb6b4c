"""Projects: the sample domain data of a tenant. Copy this app's shape for your own resources.

The shape to copy: a model with no database-level foreign key into public, a `version` that
every write bumps (the API's ETag, so a stale update is refused instead of overwriting someone
else's change), writes only through `projects.services` (which audit them), reads through
`projects.selectors`.
"""

from django.conf import settings
from django.db import models


class Project(models.Model):
    """A piece of work an organization tracks."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        ACTIVE = "active", "Active"
        DONE = "done", "Done"

    name = models.CharField(max_length=200)
    description = models.TextField(max_length=5000, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLANNED)
    # No database-level foreign key into public (see activity.models.AuditEvent); the services
    # check that the owner is a member of the tenant.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped by every update: the ETag of the API's representation, checked against If-Match.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="projects_recent_idx"),
            models.Index(fields=["status", "-created_at"], name="projects_status_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.name
