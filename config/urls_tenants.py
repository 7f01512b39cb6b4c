"""URLs of tenant hosts (`<slug>.<base>` and custom domains)."""

from django.urls import include, path

urlpatterns = [
    path("", include("dashboard.urls")),
    path("billing/", include("billing.urls_tenant")),
    path("auth/", include("accounts.urls_tenant")),
    path("members/", include("invitations.urls_tenant")),
    path("notifications/", include("notifications.urls_tenant")),
    path("api/", include("api.urls")),
    path("api-keys/", include("api.urls_pages")),
    path("jobs/", include("jobs.urls")),
]
