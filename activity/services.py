from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser

from activity.models import AuditAction, AuditEvent
from saas.schemas import current_schema


def audit_record(
    *,
    action: AuditAction,
    actor: AbstractBaseUser | None = None,
    target: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write an audit row in the current tenant schema (call it inside the change's transaction)."""
    if current_schema() == "public":
        raise RuntimeError("audit_record() must run inside a tenant schema")
    if not isinstance(action, AuditAction):
        raise TypeError(f"Audit actions come from activity.models.AuditAction, not {action!r}")
    event = AuditEvent(
        action=action,
        actor=actor,  # type: ignore[misc]  # any user model instance (AUTH_USER_MODEL)
        actor_email=getattr(actor, actor.get_email_field_name(), "") if actor else "",
        target=target,
        data=data or {},
    )
    event.full_clean()
    event.save()
    return event
