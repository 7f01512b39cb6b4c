"""The billing page on the tenant host: owners and admins only, Checkout and the portal."""

import pytest
from django.test import Client

from billing.selectors import billing_account_get
from billing.services import customer_ensure
from tests.conftest import host_of, on_plan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]


@pytest.fixture
def as_role(tenant, member_of):
    def client_for(role: str) -> tuple[Client, object]:
        user = member_of(tenant, role=role)
        client = Client(HTTP_HOST=host_of(tenant))
        client.force_login(user)
        return client, user

    return client_for


def test_a_member_who_is_not_an_admin_gets_a_clear_403(as_role):
    client, _ = as_role("member")
    for response in (
        client.get("/billing/"),
        client.post("/billing/upgrade/", {"plan": "pro"}),
        client.post("/billing/manage/"),
    ):
        assert response.status_code == 403
        assert "Billing is for owners and admins" in response.content.decode()


def test_someone_from_another_organization_gets_403_and_anonymous_goes_to_login(tenant, user):
    client = Client(HTTP_HOST=host_of(tenant))
    response = client.get("/billing/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(user)
    assert client.get("/billing/").status_code == 403


def test_the_page_shows_plan_seats_and_invoices(tenant, as_role, stripe_fake, django_assert_max_num_queries):
    client, owner = as_role("owner")
    as_role("member")
    customer = customer_ensure(tenant=tenant)
    stripe_fake.subscription_create(customer=customer, price="price_pro")
    with django_assert_max_num_queries(13):  # 12 and the shell's notification bell
        response = client.get("/billing/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="current-plan">Free<' in page
    assert "2 of 3" in page
    assert "FAKE-0001" in page and "29.00 USD" in page
    assert "Upgrade to Pro" in page and "Upgrade to Business" in page
    assert "Manage billing" in page


def test_upgrade_sends_the_admin_to_checkout_for_the_tenants_customer(tenant, as_role, stripe_fake):
    client, _ = as_role("admin")
    response = client.post("/billing/upgrade/", {"plan": "pro"})
    assert response.status_code == 302
    assert response["Location"].startswith(f"{stripe_fake.url}/checkout/cs_test_")
    session = next(iter(stripe_fake.checkout_sessions.values()))
    assert session["customer"] == billing_account_get(tenant=tenant).stripe_customer_id
    assert session["mode"] == "subscription"
    assert session["line_items"] == [{"price": "price_pro", "quantity": "1"}]
    assert session["success_url"].startswith(f"http://{host_of(tenant)}/billing/")
    client.post("/billing/upgrade/", {"plan": "business"})
    assert len(stripe_fake.customers) == 1  # the customer is made once


def test_checkout_for_the_plan_the_tenant_already_has_is_refused_with_a_message(tenant, as_role, stripe_fake):
    client, _ = as_role("owner")
    on_plan(tenant, "pro")
    response = client.post("/billing/upgrade/", {"plan": "pro"}, follow=True)
    assert "You are already on the Pro plan." in response.content.decode()
    assert stripe_fake.checkout_sessions == {}


def test_an_unknown_plan_is_refused(as_role, stripe_fake):
    client, _ = as_role("owner")
    response = client.post("/billing/upgrade/", {"plan": "platinum"}, follow=True)
    assert "Choose a plan to upgrade to." in response.content.decode()
    assert stripe_fake.checkout_sessions == {}


def test_manage_opens_the_customer_portal(tenant, as_role, stripe_fake):
    client, _ = as_role("owner")
    response = client.post("/billing/manage/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{stripe_fake.url}/portal/bps_")


def test_stripe_down_gives_a_message_not_a_500(as_role, stripe_fake):
    client, _ = as_role("owner")
    stripe_fake.stop()
    response = client.post("/billing/upgrade/", {"plan": "pro"}, follow=True)
    assert response.status_code == 200
    assert "Stripe is unreachable right now" in response.content.decode()


def test_billing_switched_off_without_a_key(as_role, settings):
    settings.STRIPE_SECRET_KEY = ""
    client, _ = as_role("owner")
    page = client.get("/billing/").content.decode()
    assert "Billing is not configured" in page
    assert "Upgrade to" not in page
