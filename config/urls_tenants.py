"""URLs of tenant hosts (`<slug>.<base>` and custom domains)."""

from django.conf import settings
from django.conf.urls.static import static
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("dashboard.urls")),
    path("billing/", include("billing.urls_tenant")),
    path("auth/", include("accounts.urls_tenant")),
    path("members/", include("invitations.urls_tenant")),
    path("notifications/", include("notifications.urls_tenant")),
    path("api/", include("api.urls")),
    path("api-keys/", include("api.urls_pages")),
    path("jobs/", include("jobs.urls")),
]
# Uploaded images from the local disk, in development only (DEBUG); production serves them from
# its storage (a bucket), never through Django.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# The 500 page shows the request id (the other error pages get it from the context).
handler500 = "saas.errors.server_error"
