"""/api/ on tenant hosts: the versioned API, its OpenAPI document and its docs (local static files)."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from api.problems import not_found
from api.views import images, resources

router = SimpleRouter()
router.register("members", resources.MemberViewSet, basename="api-members")
router.register("invitations", resources.InvitationViewSet, basename="api-invitations")
router.register("projects", resources.ProjectViewSet, basename="api-projects")
router.register("notifications", resources.NotificationViewSet, basename="api-notifications")
router.register("reports", resources.ReportViewSet, basename="api-reports")
router.register("audit-events", resources.AuditEventViewSet, basename="api-audit-events")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/billing/", resources.BillingView.as_view(), name="api-billing"),
    path("v1/organization/logo/", images.OrganizationLogoView.as_view(), name="api-organization-logo"),
    path("v1/me/avatar/", images.MyAvatarView.as_view(), name="api-my-avatar"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path(
        "docs/redoc/",
        # Redoc styles itself with <style> elements it creates (styled-components), which no
        # nonce can cover, runs its search in a worker made from a blob: URL and shows the
        # "API docs by Redocly" logo from its CDN; scripts stay nonce-only.
        csp_replace(
            {
                "style-src": [SELF, UNSAFE_INLINE],
                "worker-src": [SELF, "blob:"],
                "img-src": [SELF, "data:", "https://cdn.redoc.ly"],
            }
        )(SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html")),
        name="api-redoc",
    ),
    re_path(r"^.*$", not_found),
]
