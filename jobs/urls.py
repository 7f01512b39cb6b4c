from django.urls import path

from jobs import views

urlpatterns = [
    path("download/<str:token>/", views.job_download, name="job_download"),
]
