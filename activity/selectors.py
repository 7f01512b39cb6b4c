from django.db.models import QuerySet

from activity.models import AuditEvent


def audit_recent(*, limit: int = 20) -> QuerySet[AuditEvent]:
    """The newest audit rows of the current tenant, with their actors."""
    return AuditEvent.objects.select_related("actor")[:limit]
