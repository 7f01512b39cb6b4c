"""Bench only: dj-stripe's synchronous ProcessWebhookView, the peer bench/webhooks.py compares with."""

from django.urls import include, path

urlpatterns = [
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
]
