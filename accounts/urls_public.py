"""Account pages of the public host that are ours (allauth serves login, logout, reset)."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("orgs/", views.organization_list, name="organization_list"),
    path("orgs/new/", views.organization_new, name="organization_new"),
    path("orgs/go/", views.organization_go, name="organization_go"),
    path("orgs/<slug:slug>/open/", views.organization_open, name="organization_open"),
    path("account/security/", views.security, name="security"),
    path("account/two-factor-required/<slug:slug>/", views.two_factor_required, name="two_factor_required"),
    path("auth/logout/<str:token>/", views.logout_handoff, name="logout_handoff"),
]
