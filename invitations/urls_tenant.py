from django.urls import path

from invitations import views

urlpatterns = [
    path("", views.members, name="members"),
    path("invitations/<int:invitation_id>/resend/", views.resend, name="invitation_resend"),
    path("invitations/<int:invitation_id>/revoke/", views.revoke, name="invitation_revoke"),
]
