"""Request ids: a valid incoming X-Request-ID is kept, any other replaced; every response
carries it (pages, API, errors, health checks) and the error pages show it to quote."""

import re

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from saas.observability import REQUEST_ID_HEADER
from tenants.schema_template import quote
from tests.conftest import host_of


def shown(response, request_id: str) -> bool:
    return (
        re.search(rf"Request ID: <code>{re.escape(request_id)}</code>", response.content.decode()) is not None
    )


@pytest.fixture
def public(db) -> Client:
    return Client(HTTP_HOST=settings.SAAS_BASE_DOMAIN, raise_request_exception=False)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_checks_carry_the_id(public, path):
    response = public.get(path, HTTP_X_REQUEST_ID="probe-request-1")
    assert response[REQUEST_ID_HEADER] == "probe-request-1"


def test_api_responses_carry_the_id(tenant):
    response = Client(HTTP_HOST=host_of(tenant)).get("/api/v1/projects/", HTTP_X_REQUEST_ID="api-request-01")
    assert response.status_code == 401
    assert response[REQUEST_ID_HEADER] == "api-request-01"


def test_a_caller_id_at_the_length_cap_is_kept_one_past_it_replaced(public):
    at_cap, past_cap = "a" * 128, "a" * 129
    assert public.get("/", HTTP_X_REQUEST_ID=at_cap)[REQUEST_ID_HEADER] == at_cap
    assert re.fullmatch(r"[0-9a-f]{32}", public.get("/", HTTP_X_REQUEST_ID=past_cap)[REQUEST_ID_HEADER])


def test_the_404_page_shows_the_id(public):
    response = public.get("/no/such/page/", HTTP_X_REQUEST_ID="missing-page-1")
    assert response.status_code == 404
    assert response[REQUEST_ID_HEADER] == "missing-page-1"
    assert shown(response, "missing-page-1")


def test_the_unknown_host_page_shows_the_id(db):
    response = Client(HTTP_HOST=f"nobody-here.{settings.SAAS_BASE_DOMAIN}").get(
        "/", HTTP_X_REQUEST_ID="no-host-01"
    )
    assert response.status_code == 404
    assert shown(response, "no-host-01")


def test_a_malformed_host_gets_the_unknown_host_page_with_the_id(db):
    response = Client(HTTP_HOST="bad_host!.example").get("/", HTTP_X_REQUEST_ID="bad-host-01")
    assert response.status_code == 404
    assert shown(response, "bad-host-01")


def test_the_403_pages_show_the_id(tenant, member_of, user):
    outsider = Client(HTTP_HOST=host_of(tenant))
    outsider.force_login(user)
    response = outsider.get("/", HTTP_X_REQUEST_ID="not-member-1")
    assert response.status_code == 403
    assert shown(response, "not-member-1")


def test_the_400_page_shows_the_id(public):
    # More fields than DATA_UPLOAD_MAX_NUMBER_FIELDS: Django's SuspiciousOperation -> 400.
    fields = "&".join(f"f{i}=x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = public.post(
        "/signup/", fields, content_type="application/x-www-form-urlencoded", HTTP_X_REQUEST_ID="too-many-1"
    )
    assert response.status_code == 400
    assert response[REQUEST_ID_HEADER] == "too-many-1"
    assert shown(response, "too-many-1")


def test_the_500_page_shows_the_id(make_tenant, member_of):
    tenant = make_tenant()
    client = Client(HTTP_HOST=host_of(tenant), raise_request_exception=False)
    client.force_login(member_of(tenant))
    with connection.cursor() as cursor:  # a tenant whose schema is gone (undone after the test)
        cursor.execute(f"DROP SCHEMA {quote(tenant.schema_name)} CASCADE")
    response = client.get("/", HTTP_X_REQUEST_ID="broken-page-1")
    assert response.status_code == 500
    assert response[REQUEST_ID_HEADER] == "broken-page-1"
    assert shown(response, "broken-page-1")


def test_the_csrf_failure_page_shows_the_id(db):
    client = Client(HTTP_HOST=settings.SAAS_BASE_DOMAIN, enforce_csrf_checks=True)
    response = client.post("/signup/", {"email": "a@example.com"}, HTTP_X_REQUEST_ID="csrf-request-1")
    assert response.status_code == 403
    assert response[REQUEST_ID_HEADER] == "csrf-request-1"
    assert shown(response, "csrf-request-1")
    assert "This form has expired" in response.content.decode()
