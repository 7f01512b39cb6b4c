"""Writes for notifications; they run in the tenant's schema."""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import Membership
from notifications.models import Notification
from notifications.selectors import notification_view
from saas.broadcast import broadcast_on_commit, user_stream
from saas.schemas import current_schema


def notification_counts_broadcast(
    *, user_ids: Iterable[int], new: dict[int, Notification] | None = None
) -> None:
    """Tell each person's open dashboards their unread count, once the transaction commits;
    with `new` (user id -> the notification just made for them), the notification too, so the
    list on the page shows it without a reload."""
    user_ids = list(user_ids)
    new = new or {}
    unread = dict(
        Notification.objects.filter(user_id__in=user_ids, read_at__isnull=True)
        .values_list("user_id")
        .annotate(count=Count("id"))
    )
    schema = current_schema()
    for user_id in user_ids:
        message: dict[str, object] = {"type": "notifications.count", "unread": unread.get(user_id, 0)}
        if user_id in new:
            message["notification"] = notification_view(new[user_id])
        broadcast_on_commit(user_stream(schema, user_id), message)


@transaction.atomic
def notification_create_for_admins(
    *, tenant_id: int, event_id: str, kind: str, title: str, url: str = "", exclude_user_id: int | None = None
) -> int:
    """Tell a tenant's owners and admins about an event, once per person; returns how many are new."""
    if current_schema() == "public":
        raise RuntimeError("notifications live in a tenant schema")
    admins = Membership.objects.filter(
        tenant_id=tenant_id, role__in=[Membership.Role.OWNER, Membership.Role.ADMIN]
    )
    if exclude_user_id is not None:
        admins = admins.exclude(user_id=exclude_user_id)
    admin_ids = list(admins.values_list("user_id", flat=True))
    already = set(Notification.objects.filter(event_id=event_id).values_list("user_id", flat=True))
    Notification.objects.bulk_create(
        [
            Notification(user_id=user_id, event_id=event_id, kind=kind, title=title, url=url)
            for user_id in admin_ids
            if user_id not in already
        ],
        ignore_conflicts=True,
    )
    # The rows this call made (a concurrent dispatch of the same event may have made some).
    made = {
        note.user_id: note
        for note in Notification.objects.filter(event_id=event_id, user_id__in=admin_ids).exclude(
            user_id__in=already
        )
    }
    if made:
        notification_counts_broadcast(user_ids=list(made), new=made)
    return len(made)


@transaction.atomic
def notification_create_for_user(
    *, user_id: int, event_id: str, kind: str, title: str, url: str = ""
) -> bool:
    """Tell one member about an event (once per event); True if the notification is new."""
    if current_schema() == "public":
        raise RuntimeError("notifications live in a tenant schema")
    _, created = Notification.objects.get_or_create(
        event_id=event_id, user_id=user_id, defaults={"kind": kind, "title": title, "url": url}
    )
    if created:
        notification_counts_broadcast(user_ids=[user_id])
    return created


@transaction.atomic
def notification_mark_read(*, user_id: int, notification_id: int) -> Notification | None:
    """Mark one of a person's notifications read; None if it is not theirs (or not there).

    Reading is the person's own bookkeeping, not a change to the organization: no audit row.
    Marking again keeps the first read time. The person's open dashboards get the new count.
    """
    marked = Notification.objects.filter(pk=notification_id, user_id=user_id, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if marked:
        notification_counts_broadcast(user_ids=[user_id])
    return Notification.objects.filter(pk=notification_id, user_id=user_id).first()


@transaction.atomic
def notification_mark_all_read(*, user_id: int) -> int:
    """Mark every unread notification of a person read; returns how many. Open dashboards get 0."""
    marked = Notification.objects.filter(user_id=user_id, read_at__isnull=True).update(read_at=timezone.now())
    if marked:
        notification_counts_broadcast(user_ids=[user_id])
    return marked
