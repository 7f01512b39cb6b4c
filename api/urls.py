"""/api/ on tenant hosts: the versioned API, its OpenAPI document and its docs (local static files)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from api.problems import not_found
from api.views import resources

router = SimpleRouter()
router.register("members", resources.MemberViewSet, basename="api-members")
router.register("invitations", resources.InvitationViewSet, basename="api-invitations")
router.register("projects", resources.ProjectViewSet, basename="api-projects")
router.register("notifications", resources.NotificationViewSet, basename="api-notifications")
router.register("audit-events", resources.AuditEventViewSet, basename="api-audit-events")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/billing/", resources.BillingView.as_view(), name="api-billing"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("docs/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    re_path(r"^.*$", not_found),
]
