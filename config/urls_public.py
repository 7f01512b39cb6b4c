"""URLs of the public host: marketing, accounts, admin, webhooks."""

from django.contrib import admin
from django.urls import include, path

from dashboard import views as dashboard_views

urlpatterns = [
    path("", dashboard_views.landing, name="landing"),
    path("admin/", admin.site.urls),
    path("billing/", include("billing.urls_public")),
    path("invitations/", include("invitations.urls_public")),
    # Ours first: /signup/ is our form (it also creates the organization), not allauth's.
    path("", include("accounts.urls_public")),
    path("", include("allauth.urls")),
]
