"""The API keys page (owners and admins; the key shown once) and `manage.py create_api_key`."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_tenants.utils import schema_context

from activity.models import AuditAction, AuditEvent
from api.models import ApiKey
from tests.api.conftest import Api
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


def logged_in(tenant, user) -> Client:
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(user)
    return client


def test_admin_creates_a_key_shown_once_and_revokes_it(tenant, member_of, django_capture_on_commit_callbacks):
    admin = member_of(tenant, role="admin")
    client = logged_in(tenant, admin)
    page = client.post("/api-keys/", {"name": "CI", "scopes": ["projects:read"], "expires_in_days": "30"})
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    found = re.search(r'<code id="new-secret">(sk_[^<]+)</code>', page.content.decode())
    assert found
    secret = found[1]
    api_key = ApiKey.objects.get()
    assert api_key.created_by == admin and api_key.scopes == ["projects:read"] and api_key.expires_at
    assert secret not in client.get("/api-keys/").content.decode()  # never shown again
    assert Api(host_of(tenant), secret).get("/api/v1/projects/").status_code == 200

    # The key is remembered now; the revocation's commit makes every process look it up again.
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api-keys/{api_key.pk}/revoke/").status_code == 302
    assert Api(host_of(tenant), secret).get("/api/v1/projects/").status_code == 401
    with schema_context(tenant.schema_name):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditAction.API_KEY_CREATED, AuditAction.API_KEY_REVOKED} <= actions


def test_members_cannot_use_the_page_and_others_keys_are_404(tenant, make_tenant, member_of):
    other = make_tenant()
    member = logged_in(tenant, member_of(tenant, role="member"))
    assert member.get("/api-keys/").status_code == 403
    assert member.post("/api-keys/", {"name": "x", "scopes": ["projects:read"]}).status_code == 403
    assert not ApiKey.objects.exists()
    from api.services import api_key_create

    theirs, _ = api_key_create(
        tenant=other, actor=member_of(other, role="owner"), name="k", scopes=["projects:read"]
    )
    admin = logged_in(tenant, member_of(tenant, role="admin"))
    assert admin.post(f"/api-keys/{theirs.pk}/revoke/").status_code == 404
    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None


def test_form_errors(tenant, member_of):
    client = logged_in(tenant, member_of(tenant, role="owner"))
    assert client.post("/api-keys/", {"name": "", "scopes": []}).status_code == 400


def test_create_api_key_command(tenant, member_of):
    owner = member_of(tenant, role="owner")
    out = io.StringIO()
    call_command(
        "create_api_key", tenant.slug, "--name", "cli", "--scope", "projects:write", "--as", owner.email,
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    secret = out.getvalue().strip()
    assert Api(host_of(tenant), secret).post("/api/v1/projects/", {"name": "From CLI"}).status_code == 201
    with pytest.raises(CommandError):
        call_command("create_api_key", "nope", "--name", "x", "--scope", "projects:read", "--as", owner.email)
    member = member_of(tenant, role="member")
    with pytest.raises(CommandError, match="owners and admins"):
        call_command(
            "create_api_key", tenant.slug, "--name", "x", "--scope", "projects:read", "--as", member.email
        )
