"""The tenant's billing row: made on first use, race-safely, and read afresh by every page."""

import threading

import pytest
from django.db import connection, transaction
from django.test import Client

from billing.models import BillingAccount
from billing.selectors import billing_account_get
from billing.services.accounts import billing_account_lock
from tenants.resolution import resolver
from tests.billing.conftest import stripe_event
from tests.conftest import host_of

pytestmark = pytest.mark.usefixtures("stripe_settings", "eager_tasks")


@pytest.mark.django_db
def test_a_new_tenant_gets_a_free_active_row_on_first_read_and_keeps_it(tenant):
    assert not BillingAccount.objects.filter(tenant=tenant).exists()  # provisioning knows no billing
    account = billing_account_get(tenant=tenant)
    assert (account.plan, account.status, account.seats) == ("free", "active", None)
    assert account.stripe_customer_id == ""
    assert account.current_plan.name == "Free" and account.seat_limit == 3
    assert billing_account_get(tenant=tenant).pk == account.pk
    assert BillingAccount.objects.filter(tenant=tenant).count() == 1


def _waiting_on_a_lock(backend_pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [backend_pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def test_two_first_uses_at_once_share_one_row(transactional_db, drop_new_tenant_schemas, make_tenant):
    """The loser of the insert race waits on the unique tenant column, then reads the winner's row."""
    tenant = make_tenant()
    started, found = threading.Event(), {}

    def first_read_elsewhere() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                found["pid"] = cursor.fetchone()[0]
            started.set()
            found["account"] = billing_account_get(tenant=tenant)
        finally:
            connection.close()

    with transaction.atomic():
        mine = billing_account_lock(tenant=tenant)  # inserted, not yet committed
        reader = threading.Thread(target=first_read_elsewhere)
        reader.start()
        assert started.wait(timeout=10)
        for _ in range(200):  # bounded: up to 10 s for the other insert to block on ours
            if _waiting_on_a_lock(found["pid"]):
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the concurrent first read never waited on the uncommitted row")
    reader.join(timeout=10)
    assert found["account"].pk == mine.pk
    assert BillingAccount.objects.filter(tenant=tenant).count() == 1


@pytest.mark.django_db
def test_pages_show_a_webhooks_plan_at_once_though_the_host_cache_keeps_the_tenant(
    tenant, owner, customer, stripe_fake, deliver, settings
):
    settings.TENANT_RESOLUTION_RECHECK_SECONDS = 3600  # no cross-process re-check during the test
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(owner)
    assert 'id="current-plan">Free<' in client.get("/billing/").content.decode()
    assert 'data-live="plan-name">Free</p>' in client.get("/").content.decode()
    cached = resolver.resolve(host_of(tenant))

    subscription = stripe_fake.subscription_create(customer=customer, price="price_pro")
    deliver(stripe_event("customer.subscription.created", subscription))

    # The resolver still serves the very Tenant object it held before the webhook...
    assert resolver.resolve(host_of(tenant)) is cached
    # ...and both pages show the new plan anyway: it is read from the billing row, not the Tenant.
    assert 'id="current-plan">Pro<' in client.get("/billing/").content.decode()
    assert 'data-live="plan-name">Pro</p>' in client.get("/").content.decode()


@pytest.mark.django_db
def test_the_billing_page_reads_the_plan_in_one_query(
    tenant, owner, customer, member_of, django_assert_max_num_queries
):
    member_of(tenant)
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(owner)
    client.get("/billing/")  # the host -> tenant mapping is cached from here on
    with django_assert_max_num_queries(12) as captured:
        response = client.get("/billing/")
    assert response.status_code == 200
    billing_reads = [q["sql"] for q in captured.captured_queries if "billing_billingaccount" in q["sql"]]
    assert len(billing_reads) == 1, billing_reads
    # No re-read of the tenant row "afresh" (the cached Tenant carries nothing that goes stale).
    assert not [q["sql"] for q in captured.captured_queries if q["sql"].startswith('SELECT "tenants_tenant"')]


@pytest.mark.django_db
def test_staff_see_billing_accounts_but_cannot_edit_them(tenant, customer, public_client):
    from tests.factories import UserFactory

    public_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    listing = public_client.get("/admin/billing/billingaccount/?plan=free&status=active").content.decode()
    assert tenant.name in listing and customer in listing
    account = BillingAccount.objects.get(tenant=tenant)
    url = f"/admin/billing/billingaccount/{account.pk}/change/"
    page = public_client.get(url).content.decode()
    assert customer in page and 'name="plan"' not in page  # shown, not an input
    assert public_client.post(url, {"plan": "business", "status": "active"}).status_code == 403
    assert public_client.get("/admin/billing/billingaccount/add/").status_code == 403
    account.refresh_from_db()
    assert account.plan == "free"
