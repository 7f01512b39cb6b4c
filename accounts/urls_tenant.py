"""Account routes of tenant hosts: the login hand-off, switching organization, logout."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("handoff/", views.login_handoff, name="login_handoff"),
    path("switch/<slug:slug>/", views.organization_switch, name="organization_switch"),
    path("logout/", views.tenant_logout, name="tenant_logout"),
]
