from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser

from activity.context import audit_context
from activity.models import AuditAction, AuditEvent
from saas.schemas import current_schema


def audit_record(
    *,
    action: AuditAction,
    actor: AbstractBaseUser | None = None,
    target: str = "",
    data: dict[str, Any] | None = None,
    changes: Mapping[str, Sequence[Any]] | None = None,
) -> AuditEvent:
    """Write an audit row in the current tenant schema (call it inside the change's transaction).

    `changes` maps each changed field to its (before, after) values.
    """
    if current_schema() == "public":
        raise RuntimeError("audit_record() must run inside a tenant schema")
    if not isinstance(action, AuditAction):
        raise TypeError(f"Audit actions come from activity.models.AuditAction, not {action!r}")
    context = audit_context()
    event = AuditEvent(
        action=action,
        actor=actor,  # type: ignore[misc]  # any user model instance (AUTH_USER_MODEL)
        actor_email=getattr(actor, actor.get_email_field_name(), "") if actor else "",
        target=target,
        data=data or {},
        changes={field: [before, after] for field, (before, after) in (changes or {}).items()},
        request_id=context.request_id,
        trace_id=context.trace_id,
        ip=context.ip,
    )
    event.full_clean()
    event.save()
    return event


def audit_actor_erase(*, user_id: int) -> int:
    """Blank the actor of the current tenant's rows made by a deleted account; returns how many.

    The only change the audit table's trigger lets through (inside the caller's transaction).
    """
    if current_schema() == "public":
        raise RuntimeError("audit_actor_erase() must run inside a tenant schema")
    return AuditEvent.objects.filter(actor_id=user_id).update(actor=None, actor_email="", actor_erased=True)
