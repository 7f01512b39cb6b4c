"""An audit row made by a request carries that request's id and the client's address."""

from __future__ import annotations

from django_tenants.utils import schema_context

from activity.models import AuditAction, AuditEvent
from tests.conftest import host_of


def test_a_page_request_records_its_request_id_and_ip(tenant, member_of, client):
    owner = member_of(tenant, role="owner")
    client.force_login(owner)
    response = client.post(
        "/settings/",
        {"name": "New name"},
        HTTP_HOST=host_of(tenant),
        HTTP_X_REQUEST_ID="req-from-the-edge-1",
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302, response.content
    with schema_context(tenant.schema_name):
        row = AuditEvent.objects.get(action=AuditAction.TENANT_RENAMED)
    assert (row.request_id, row.ip, row.actor_id) == ("req-from-the-edge-1", "203.0.113.9", owner.pk)
    assert row.changes == {"name": [tenant.name, "New name"]}
