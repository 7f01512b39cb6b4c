"""URLs of the public host: marketing, accounts, admin, webhooks."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from dashboard import views as dashboard_views

# Staff sign in through allauth's login page like everyone else (its rate limits and lockout,
# and MFA once enabled); the admin's own form, which has neither, only redirects there.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", dashboard_views.landing, name="landing"),
    path("account/delete/", dashboard_views.account_delete, name="account_delete"),
    path("admin/", admin.site.urls),
    path("billing/", include("billing.urls_public")),
    path("invitations/", include("invitations.urls_public")),
    # Ours first: /signup/ is our form (it also creates the organization), not allauth's.
    path("", include("accounts.urls_public")),
    path("", include("allauth.urls")),
]
