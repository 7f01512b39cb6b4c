from typing import Any

from django.db import connection

from accounts.models import User
from activity.models import AuditEvent


def audit_record(
    *, action: str, actor: User | None = None, target: str = "", data: dict[str, Any] | None = None
) -> AuditEvent:
    """Write an audit row in the current tenant schema (call it inside the change's transaction)."""
    if connection.schema_name == "public":  # type: ignore[attr-defined]
        raise RuntimeError("audit_record() must run inside a tenant schema")
    event = AuditEvent(
        action=action, actor=actor, actor_email=actor.email if actor else "", target=target, data=data or {}
    )
    event.full_clean()
    event.save()
    return event
