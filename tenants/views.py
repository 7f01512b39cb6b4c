from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.selectors import membership_get, membership_list_for_tenant
from activity.selectors import audit_recent
from billing.selectors import billing_account_get
from notifications.selectors import notification_recent
from saas.hosts import public_url


def dashboard(request: HttpRequest) -> HttpResponse:
    """The organization's home: members, plan, notifications and recent activity. Members only."""
    tenant = request.tenant  # type: ignore[attr-defined]
    membership = membership_get(user=request.user, tenant=tenant)  # type: ignore[arg-type]
    if membership is None:
        if request.user.is_authenticated:
            return render(request, "tenants/not_a_member.html", status=403)
        return redirect_to_login(request.build_absolute_uri(), public_url("/login/"))
    return render(
        request,
        "tenants/dashboard.html",
        {
            "membership": membership,
            "billing_account": billing_account_get(tenant=tenant),
            "members": membership_list_for_tenant(tenant=tenant),
            "activity": audit_recent(limit=10),
            "notifications": list(notification_recent(user=request.user, limit=5)),  # type: ignore[arg-type]
        },
    )
