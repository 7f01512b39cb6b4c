"""Writes for notifications; they run in the tenant's schema."""

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from notifications.models import Notification
from saas.schemas import current_schema


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
    admin_ids = admins.values_list("user_id", flat=True)
    before = Notification.objects.filter(event_id=event_id).count()
    Notification.objects.bulk_create(
        [
            Notification(user_id=user_id, event_id=event_id, kind=kind, title=title, url=url)
            for user_id in admin_ids
        ],
        ignore_conflicts=True,
    )
    return Notification.objects.filter(event_id=event_id).count() - before


def notification_mark_read(*, user_id: int, notification_id: int) -> Notification | None:
    """Mark one of a person's notifications read; None if it is not theirs (or not there).

    Reading is the person's own bookkeeping, not a change to the organization: no audit row.
    Marking again keeps the first read time.
    """
    Notification.objects.filter(pk=notification_id, user_id=user_id, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return Notification.objects.filter(pk=notification_id, user_id=user_id).first()
