"""Organization deletion end to end: real uvicorn, two owners clicking at once, the beat's task
on a real Celery worker, and the Stripe stand-in over HTTP."""

from __future__ import annotations

import threading

import pytest
from django_tenants.utils import schema_context, schema_exists

from activity.models import AuditAction, AuditEvent
from billing.services import customer_ensure, subscription_apply
from config.celery import app as celery_app
from devtools.processes import wait_until
from lifecycle.models import OrganizationDeletion, OrganizationExport
from tenants.models import Domain, Tenant
from tests.e2e.support.client import BrowserClient, signed_in

pytestmark = pytest.mark.e2e

# ~0.9 s: due almost at once, but still a grace period the job must wait out.
GRACE_DAYS = "0.00001"


@pytest.fixture
def e2e_env_overrides(stripe_fake) -> dict[str, str | None]:
    return {
        "STRIPE_SECRET_KEY": "sk_test_" + "e" * 24,
        "STRIPE_WEBHOOK_SECRET": "whsec_e2e",
        "STRIPE_API_BASE": stripe_fake.url,
        "STRIPE_PRICE_PRO": "price_pro",
        "STRIPE_PRICE_BUSINESS": "price_business",
        "STRIPE_TIMEOUT_SECONDS": "2",
        "TENANT_DELETION_GRACE_DAYS": GRACE_DAYS,
    }


@pytest.fixture
def two_owners(e2e_env, make_tenant, member_of):
    tenant = make_tenant()
    return tenant, member_of(tenant, role="owner"), member_of(tenant, role="owner")


def owners_clients(asgi_server, tenant, owners) -> tuple[str, list[BrowserClient]]:
    host = tenant.domains.get(is_primary=True).domain
    base = f"http://{host}:{asgi_server.port}"
    clients = []
    for owner in owners:
        client = BrowserClient(asgi_server.port)
        signed_in(client, owner, host)
        assert client.get(f"{base}/settings/delete/").status_code == 200  # the CSRF cookie
        clients.append(client)
    return base, clients


def at_once(*calls):
    """Run the calls in threads released together; their results in order."""
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int) -> None:
        start.wait(timeout=10)
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _audit_count(tenant, action) -> int:
    with schema_context(tenant.schema_name):
        return AuditEvent.objects.filter(action=action).count()


def test_two_owners_scheduling_then_canceling_at_once(two_owners, asgi_server):
    tenant, *owners = two_owners
    base, clients = owners_clients(asgi_server, tenant, owners)
    for _ in range(3):
        answers = at_once(
            *(
                lambda c=c: c.post(f"{base}/settings/delete/", {"confirm": tenant.slug}, follow=False)
                for c in clients
            )
        )
        assert sorted(a.status_code for a in answers) == [302, 400], [a.status_code for a in answers]
        refused = next(a for a in answers if a.status_code == 400)
        assert "Deleting this organization is already scheduled." in refused.text
        assert OrganizationDeletion.objects.filter(state="scheduled").count() == 1

        canceled_before = _audit_count(tenant, AuditAction.TENANT_DELETION_CANCELED)
        answers = at_once(
            *(lambda c=c: c.post(f"{base}/settings/delete/cancel/", {}, follow=False) for c in clients)
        )
        assert [a.status_code for a in answers] == [302, 302]
        # Exactly one of the two canceled (the other was told nothing is scheduled).
        assert _audit_count(tenant, AuditAction.TENANT_DELETION_CANCELED) == canceled_before + 1
        assert not OrganizationDeletion.objects.filter(state="scheduled").exists()
    with schema_context(tenant.schema_name):
        assert AuditEvent.objects.filter(action=AuditAction.TENANT_DELETION_SCHEDULED).count() == 3
        assert AuditEvent.objects.filter(action=AuditAction.TENANT_DELETION_CANCELED).count() == 3
    assert OrganizationDeletion.objects.filter(state="canceled").count() == 3


def test_the_beat_task_on_a_worker_deletes_after_the_grace_period(
    two_owners, asgi_server, celery_worker, stripe_fake, e2e_env_overrides, e2e_queue, settings
):
    for name in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_PRICE_PRO"):
        setattr(settings, name, e2e_env_overrides[name])
    tenant, *owners = two_owners
    subscription = stripe_fake.subscription_create(customer=customer_ensure(tenant=tenant), price="price_pro")
    subscription_apply(tenant=tenant, subscription_id=subscription["id"])
    base, clients = owners_clients(asgi_server, tenant, owners)
    page = clients[0].post(f"{base}/settings/delete/", {"confirm": tenant.slug})
    assert "is scheduled to be deleted on" in page.text and "Cancel the deletion" in page.text
    deletion = OrganizationDeletion.objects.get()
    beat_entry = settings.CELERY_BEAT_SCHEDULE["lifecycle-tenant-deletions"]

    def sweep_deleted() -> bool:
        # What beat does every TENANT_DELETION_SWEEP_SECONDS: send the sweep task to the worker.
        celery_app.send_task(beat_entry["task"], queue=e2e_queue)
        deletion.refresh_from_db()
        return deletion.state == "deleted"

    wait_until(sweep_deleted, timeout=40, interval=1.0, message="the worker to delete the organization")
    assert stripe_fake.subscriptions[subscription["id"]]["status"] == "canceled"
    assert not schema_exists(tenant.schema_name)
    assert (
        not Tenant.objects.filter(pk=tenant.pk).exists()
        and not Domain.objects.filter(tenant_id=tenant.pk).exists()
    )
    assert deletion.summary["stripe_subscription_canceled"] == subscription["id"]
    assert deletion.summary["members"] == 2
    gone = clients[1].get(f"{base}/", follow=False)
    assert gone.status_code == 404
    assert clients[1].get(f"http://{settings.SAAS_BASE_DOMAIN}:{asgi_server.port}/").status_code == 200


def test_two_owners_asking_for_an_export_at_once_get_one(two_owners, asgi_server):
    """No worker runs, so the first export stays pending while the clicks land."""
    tenant, *owners = two_owners
    base, clients = owners_clients(asgi_server, tenant, owners)
    answers = at_once(*(lambda c=c: c.post(f"{base}/settings/export/", {}) for c in clients))
    assert [a.status_code for a in answers] == [200, 200]
    texts = sorted(a.text for a in answers)
    assert sum("The export is being prepared" in t for t in texts) == 1
    assert sum("An export is being prepared already" in t for t in texts) == 1
    assert OrganizationExport.objects.filter(tenant=tenant, state="pending").count() == 1
    assert _audit_count(tenant, AuditAction.TENANT_EXPORTED) == 1
