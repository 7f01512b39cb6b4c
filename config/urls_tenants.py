"""URLs of tenant hosts (`<slug>.<base>` and custom domains)."""

from django.urls import path

from tenants import views as tenant_views

urlpatterns = [
    path("", tenant_views.dashboard, name="dashboard"),
]
