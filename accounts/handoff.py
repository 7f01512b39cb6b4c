"""Sending a signed-in browser to a tenant's host, logged in there (sessions are per host)."""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.urls import reverse

from accounts.models import User
from accounts.services import login_handoff_create
from tenants.models import Tenant
from tenants.selectors import tenant_absolute_url


def handoff_redirect(*, user: User, tenant: Tenant) -> HttpResponseRedirect:
    """Redirect to the tenant's host with a one-time login link for `user`."""
    token = login_handoff_create(user=user, tenant=tenant)
    path = reverse("login_handoff", args=[token], urlconf=settings.ROOT_URLCONF)
    return HttpResponseRedirect(tenant_absolute_url(tenant=tenant, path=path))
