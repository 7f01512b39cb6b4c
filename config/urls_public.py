"""URLs of the public host: marketing, accounts, admin, webhooks."""

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from dashboard import views as dashboard_views

# Staff sign in through allauth's login page like everyone else (its rate limits and lockout,
# and MFA once enabled); the admin's own form, which has neither, only redirects there.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", dashboard_views.landing, name="landing"),
    path("account/profile/", dashboard_views.profile, name="profile"),
    path("account/profile/avatar/", dashboard_views.profile_avatar, name="profile_avatar"),
    path("account/delete/", dashboard_views.account_delete, name="account_delete"),
    path("admin/", admin.site.urls),
    path("billing/", include("billing.urls_public")),
    path("invitations/", include("invitations.urls_public")),
    # Ours first: /signup/ is our form (it also creates the organization), not allauth's.
    path("", include("accounts.urls_public")),
    path("", include("allauth.urls")),
]
# Uploaded images from the local disk, in development only (DEBUG); production serves them from
# its storage (a bucket), never through Django.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# The 500 page shows the request id (the other error pages get it from the context).
handler500 = "saas.errors.server_error"
