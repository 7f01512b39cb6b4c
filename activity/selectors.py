from datetime import datetime

from django.db.models import QuerySet

from activity.models import AuditEvent


def audit_recent(*, limit: int = 20) -> QuerySet[AuditEvent]:
    """The newest audit rows of the current tenant, with their actors."""
    return AuditEvent.objects.select_related("actor")[:limit]


def audit_list(
    *,
    actor_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
) -> QuerySet[AuditEvent]:
    """The current tenant's audit rows, newest first, narrowed by who, what and when.

    `before_id` pages by keyset (rows older than that one), so a page costs the same on the
    millionth row as on the first, unlike OFFSET.
    """
    rows = AuditEvent.objects.select_related("actor").order_by("-id")
    if actor_id is not None:
        rows = rows.filter(actor_id=actor_id)
    if action:
        rows = rows.filter(action=action)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    return rows
