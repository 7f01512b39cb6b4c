from typing import Any

from django.db.models import Count, Q, QuerySet, Window

from accounts.models import User
from notifications.models import Notification


def notification_recent(*, user: User, limit: int = 5) -> QuerySet[Notification]:
    """A person's newest notifications, each carrying `unread_total` (all unread), in one query."""
    return Notification.objects.filter(user_id=user.pk).annotate(
        unread_total=Window(Count("id", filter=Q(read_at__isnull=True)))
    )[:limit]


def notification_view(note: Notification) -> dict[str, Any]:
    """One notification as an open dashboard shows it (the same shape in snapshots and messages)."""
    return {
        "id": note.pk,
        "kind": note.kind,
        "title": note.title,
        "url": note.url,
        "created_at": note.created_at.isoformat(),
        "read": note.read_at is not None,
    }


def notification_unread_count(*, user: User) -> int:
    """How many of a person's notifications in the current tenant are unread (the bell)."""
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def notification_list(*, user: User) -> QuerySet[Notification]:
    """A person's notifications in the current tenant, newest first."""
    return Notification.objects.filter(user_id=user.pk)
