from django.conf import settings
from django.db import models
from django.db.models import JSONField, Value


class AuditAction(models.TextChoices):
    """Every action the audit log records: one greppable list (Zulip's AuditLogEventType)."""

    TENANT_PROVISIONED = "tenant.provisioned", "Organization created"
    MEMBER_ADDED = "member.added", "Member added"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    MEMBER_LEFT = "member.left", "Member left"
    OWNERSHIP_TRANSFERRED = "tenant.ownership_transferred", "Ownership transferred"
    TENANT_RENAMED = "tenant.renamed", "Organization renamed"
    TENANT_LOGO_CHANGED = "tenant.logo_changed", "Logo changed"
    TWO_FACTOR_REQUIREMENT_CHANGED = "tenant.two_factor_requirement_changed", "Two-factor requirement changed"
    REPORT_REQUESTED = "report.requested", "Report requested"
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
    BILLING_SUBSCRIPTION_CHANGED = "billing.subscription_changed", "Subscription changed"
    TENANT_DELETION_SCHEDULED = "tenant.deletion_scheduled", "Deletion scheduled"
    TENANT_DELETION_CANCELED = "tenant.deletion_canceled", "Deletion canceled"
    MEMBER_ACCOUNT_DELETED = "member.account_deleted", "Member deleted their account"
    TENANT_EXPORTED = "tenant.exported", "Data exported"


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
    # Set when the actor deleted their account: actor and actor_email are then blanked. The
    # table's trigger allows that one change and refuses every other (activity migration 0005).
    # The columns added after the first release have database defaults too, so rows written by
    # code that predates them (a rolling deploy, raw SQL) still insert.
    actor_erased = models.BooleanField(default=False, db_default=False)
    target = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # {"field": [before, after]} for each field the change touched.
    changes = models.JSONField(default=dict, blank=True, db_default=Value({}, JSONField()))
    request_id = models.CharField(max_length=64, blank=True, db_default="")
    trace_id = models.CharField(max_length=64, blank=True, db_default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.target}".strip()

    @property
    def actor_name(self) -> str:
        """Who did it, by display name where the account still exists."""
        if self.actor_erased:
            return "A deleted user"
        if self.actor_id is not None and self.actor is not None:
            return self.actor.get_full_name()
        return self.actor_email or "System"

    @property
    def sentence(self) -> str:
        """The row as a person reads it: "owner@acme.test invited bo@acme.test as Admin"."""
        data = self.data or {}
        role = str(data.get("role", "")).capitalize()
        template = SENTENCES.get(self.action)
        if template is None:
            return f"{self.actor_name}: {self.get_action_display()} {self.target}".strip()
        values = {
            "actor": self.actor_name,
            "target": self.target,
            "role": role,
            "previous_role": str(data.get("previous_role", "")).capitalize(),
            "name": data.get("name", ""),
            "previous_name": data.get("previous_name", ""),
        }
        if self.action == AuditAction.MEMBER_ADDED and self.actor_email == self.target:
            template = "{actor} joined as {role}"
        return template.format(**values)


# One sentence per action; {actor} is the display name, {target} what the row names.
SENTENCES: dict[str, str] = {
    AuditAction.TENANT_PROVISIONED: "{actor} created the organization",
    AuditAction.MEMBER_ADDED: "{actor} added {target} as {role}",
    AuditAction.MEMBER_ROLE_CHANGED: "{actor} changed {target}'s role from {previous_role} to {role}",
    AuditAction.MEMBER_REMOVED: "{actor} removed {target} from the organization",
    AuditAction.MEMBER_LEFT: "{actor} left the organization",
    AuditAction.OWNERSHIP_TRANSFERRED: "{actor} transferred ownership to {target}",
    AuditAction.TENANT_RENAMED: "{actor} renamed the organization from {previous_name} to {name}",
    AuditAction.INVITATION_CREATED: "{actor} invited {target} as {role}",
    AuditAction.INVITATION_RESENT: "{actor} sent the invitation to {target} again",
    AuditAction.INVITATION_REMINDED: "A reminder went to {target} about their invitation",
    AuditAction.INVITATION_ACCEPTED: "{target} accepted the invitation and joined as {role}",
    AuditAction.INVITATION_DECLINED: "{target} declined the invitation",
    AuditAction.INVITATION_REVOKED: "{actor} withdrew the invitation to {target}",
    AuditAction.INVITATION_EXPIRED: "The invitation to {target} expired",
    AuditAction.BILLING_CUSTOMER_CREATED: "Billing was set up",
    AuditAction.BILLING_PLAN_CHANGED: "The plan changed to {target}",
    AuditAction.BILLING_SUBSCRIPTION_CHANGED: "The subscription changed ({target} plan)",
    AuditAction.PROJECT_CREATED: "{actor} created the project {target}",
    AuditAction.PROJECT_UPDATED: "{actor} changed the project {target}",
    AuditAction.PROJECT_DELETED: "{actor} deleted the project {target}",
    AuditAction.API_KEY_CREATED: "{actor} created the API key {target}",
    AuditAction.API_KEY_REVOKED: "{actor} revoked the API key {target}",
    AuditAction.TENANT_DELETION_SCHEDULED: "{actor} scheduled the organization's deletion",
    AuditAction.TENANT_DELETION_CANCELED: "{actor} canceled the organization's deletion",
    AuditAction.MEMBER_ACCOUNT_DELETED: "A member deleted their account and left the organization",
    AuditAction.TENANT_EXPORTED: "{actor} exported the organization's data",
}
