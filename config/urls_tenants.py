"""URLs of tenant hosts (`<slug>.<base>` and custom domains)."""

from django.urls import include, path

from tenants import views as tenant_views

urlpatterns = [
    path("", tenant_views.dashboard, name="dashboard"),
    path("billing/", include("billing.urls_tenant")),
    path("auth/", include("accounts.urls_tenant")),
    path("members/", include("invitations.urls_tenant")),
]
