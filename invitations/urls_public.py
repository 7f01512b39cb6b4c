from django.urls import path

from invitations import views

urlpatterns = [
    path("<str:token>/", views.invitation, name="invitation"),
]
