from django.urls import path

from billing import views

urlpatterns = [
    path("", views.billing_page, name="billing"),
    path("upgrade/", views.billing_upgrade, name="billing_upgrade"),
    path("manage/", views.billing_portal, name="billing_portal"),
]
