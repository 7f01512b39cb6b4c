"""The organization export end to end: an owner asks over HTTP, a real Celery worker builds the
zip, the owner gets the email at the SMTP server and downloads it."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.apps import apps
from django.conf import settings
from django_tenants.utils import schema_context

from activity.models import AuditAction, AuditEvent
from api.services import api_key_create
from invitations.services import invitation_create
from lifecycle.models import OrganizationExport
from projects.services import project_create
from tests.e2e.support.client import BrowserClient, signed_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def media_root(tmp_path):
    return tmp_path / "media"


@pytest.fixture
def e2e_env_overrides(media_root) -> dict[str, str | None]:
    return {"MEDIA_ROOT": str(media_root)}


def test_an_owner_exports_and_downloads_the_zip(
    e2e_env, asgi_server, celery_worker, smtp_server, make_tenant, member_of, media_root
):
    tenant = make_tenant()
    owner = member_of(tenant, role="owner")
    admin = member_of(tenant, role="admin")
    with schema_context(tenant.schema_name):
        project_create(tenant=tenant, actor=owner, name='Roadmap, "quoted"')
    invitation_create(tenant=tenant, inviter=owner, email="later@example.test", role="member")
    api_key_create(tenant=tenant, actor=owner, name="CI", scopes=["projects:read"])
    host = tenant.domains.get(is_primary=True).domain
    base = f"http://{host}:{asgi_server.port}"
    client = BrowserClient(asgi_server.port)
    signed_in(client, owner, host)
    assert client.get(f"{base}/settings/export/").status_code == 200

    asked = client.post(f"{base}/settings/export/", {})
    assert "The export is being prepared" in asked.text

    messages = smtp_server.wait_for(2, timeout=40)  # the invitation's, then the export's
    [message] = [m for m in messages if "export" in m["Subject"]]
    assert message["To"] == owner.email and "is ready" in message["Subject"]
    assert f"{base}/settings/export/" in message.get_body(("plain",)).get_content()
    export = OrganizationExport.objects.get()
    assert export.state == "done" and export.size and (media_root / export.file_name).exists()
    page = client.get(f"{base}/settings/export/")
    assert f"/settings/export/{export.pk}/download/" in page.text

    download = client.get(f"{base}/settings/export/{export.pk}/download/")
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    names = set(archive.namelist())
    # Every table of every tenant app (auto-created many-to-many tables included), from the
    # models, so a new tenant model is held to it without editing this test.
    tenant_tables = {
        model._meta.db_table
        for label in settings.TENANT_APPS
        for model in apps.get_app_config(label.rsplit(".", 1)[-1]).get_models(include_auto_created=True)
    }
    assert {"activity_auditevent", "projects_project", "notifications_notification"} <= tenant_tables
    for table in tenant_tables:
        assert {f"tenant/{table}.csv", f"tenant/{table}.json"} <= names, table
    for name in ("tenant", "domains", "memberships", "invitations", "api_keys", "billing_account"):
        assert {f"public/{name}.json", f"public/{name}.csv"} <= names
    projects = list(csv.DictReader(io.StringIO(archive.read("tenant/projects_project.csv").decode())))
    assert [p["name"] for p in projects] == ['Roadmap, "quoted"']
    assert json.loads(archive.read("tenant/projects_project.json"))[0]["name"] == 'Roadmap, "quoted"'
    members = json.loads(archive.read("public/memberships.json"))
    assert {m["user_email"] for m in members} == {owner.email, admin.email}
    with schema_context(tenant.schema_name):
        audit_rows = AuditEvent.objects.count()
        assert AuditEvent.objects.filter(action=AuditAction.TENANT_EXPORTED, actor_id=owner.pk).count() == 1
    assert len(json.loads(archive.read("tenant/activity_auditevent.json"))) == audit_rows
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["organization"] == tenant.slug and manifest["rows"]["public/api_keys"] == 1
    everything = b"".join(archive.read(name) for name in names)
    for secret in (b"key_hash", b"token_hash", b"token_salt", b"password"):
        assert secret not in everything

    # Admins and other organizations' owners cannot fetch it.
    as_admin = BrowserClient(asgi_server.port)
    signed_in(as_admin, admin, host)
    assert as_admin.get(f"{base}/settings/export/{export.pk}/download/").status_code == 403
    other = make_tenant()
    other_owner = member_of(other, role="owner")
    other_host = other.domains.get(is_primary=True).domain
    stranger = BrowserClient(asgi_server.port)
    signed_in(stranger, other_owner, other_host)
    answer = stranger.get(f"http://{other_host}:{asgi_server.port}/settings/export/{export.pk}/download/")
    assert answer.status_code == 404 and "Page not found" in answer.text
