"""The member's notifications on a tenant host: the list, mark one or all read."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.guard import TenantRequest, tenant_member
from notifications.selectors import notification_list
from notifications.services import notification_mark_all_read, notification_mark_read


@require_GET
@tenant_member()
def notifications(request: TenantRequest) -> HttpResponse:
    """Everything the member was told in this organization, newest first (the latest 100)."""
    items = list(notification_list(user=request.user)[:100])
    unread = sum(1 for item in items if item.read_at is None)
    return render(request, "notifications/list.html", {"notifications": items, "unread_shown": unread})


@require_POST
@tenant_member()
def notification_read(request: TenantRequest, notification_id: int) -> HttpResponse:
    """Mark one of the member's notifications read, then follow its link (only a local one)."""
    notification = notification_mark_read(user_id=request.user.pk, notification_id=notification_id)
    if notification is None:
        raise Http404("No such notification.")
    if notification.url and url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None):
        return redirect(notification.url)
    return redirect("notifications")


@require_POST
@tenant_member()
def notifications_read_all(request: TenantRequest) -> HttpResponse:
    marked = notification_mark_all_read(user_id=request.user.pk)
    messages.success(request, f"{marked} notification(s) marked read." if marked else "Nothing was unread.")
    return redirect("notifications")
