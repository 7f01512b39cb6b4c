"""Bench-only URLs: one view that runs one query in the current schema (bench/tenant_request.py)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from activity.models import AuditEvent


def one_query(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"{AuditEvent.objects.count()}\n", content_type="text/plain")


urlpatterns = [path("bench/one-query/", one_query)]
