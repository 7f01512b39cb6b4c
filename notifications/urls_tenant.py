from django.urls import path

from notifications import views

urlpatterns = [
    path("", views.notifications, name="notifications"),
    path("<int:notification_id>/read/", views.notification_read, name="notification_read"),
    path("read-all/", views.notifications_read_all, name="notifications_read_all"),
]
