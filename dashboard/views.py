"""Pages that compose several apps: the organization's home."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.guard import TenantRequest, tenant_member
from accounts.selectors import membership_list_for_tenant
from activity.selectors import audit_recent
from billing.selectors import billing_account_get
from notifications.selectors import notification_recent


@require_GET
@tenant_member()
def dashboard(request: TenantRequest) -> HttpResponse:
    """The organization's home: members, plan, notifications and recent activity. Members only."""
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "membership": request.membership,
            "billing_account": billing_account_get(tenant=request.tenant),
            "members": membership_list_for_tenant(tenant=request.tenant),
            "activity": audit_recent(limit=10),
            "notifications": list(notification_recent(user=request.user, limit=5)),
        },
    )
