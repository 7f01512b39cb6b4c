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
]

# The 500 page shows the request id (the other error pages get it from the context).
handler500 = "saas.errors.server_error"
