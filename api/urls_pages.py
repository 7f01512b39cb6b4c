from django.urls import path

from api.views import pages

urlpatterns = [
    path("", pages.api_keys, name="api_keys"),
    path("<int:key_id>/revoke/", pages.api_key_revoke_page, name="api_key_revoke"),
]
