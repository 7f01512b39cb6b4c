from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    """Every action the audit log records: one greppable list (Zulip's AuditLogEventType)."""

    TENANT_PROVISIONED = "tenant.provisioned", "Organization created"
    MEMBER_ADDED = "member.added", "Member added"
    INVITATION_CREATED = "invitation.created", "Invitation sent"
    INVITATION_RESENT = "invitation.resent", "Invitation sent again"
    INVITATION_REMINDED = "invitation.reminded", "Invitation reminder sent"
    INVITATION_ACCEPTED = "invitation.accepted", "Invitation accepted"
    INVITATION_DECLINED = "invitation.declined", "Invitation declined"
    INVITATION_REVOKED = "invitation.revoked", "Invitation withdrawn"
    INVITATION_EXPIRED = "invitation.expired", "Invitation expired"
    BILLING_CUSTOMER_CREATED = "billing.customer_created", "Billing customer created"
    BILLING_PLAN_CHANGED = "billing.plan_changed", "Plan changed"
    PROJECT_CREATED = "project.created", "Project created"
    PROJECT_UPDATED = "project.updated", "Project changed"
    PROJECT_DELETED = "project.deleted", "Project deleted"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"


class AuditEvent(models.Model):
    """One state change in a tenant, written in the same transaction as the change."""

    action = models.CharField(max_length=64, choices=AuditAction.choices, db_index=True)
    # Tenant tables never hold database-level foreign keys into public: PostgreSQL would then
    # refuse to delete a user (or truncate users) while any tenant schema refers to them.
    # The audit row keeps the actor's email so it still reads right after the user is gone.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_email = models.EmailField(blank=True)
    target = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.target}".strip()
