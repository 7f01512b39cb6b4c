"""A failed event stays visible with its error and can be replayed from the admin or a command."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import WebhookEvent
from billing.selectors import billing_account_get
from billing.services import customer_ensure, webhook_event_replay
from tests.billing.conftest import post_event, stripe_event
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]


@pytest.fixture
def failed_event(tenant, member_of, stripe_fake, public_client):
    member_of(tenant, role="owner")
    customer = customer_ensure(tenant=tenant)
    subscription = stripe_fake.subscription_create(customer=customer, price="price_pro")
    post_event(public_client, stripe_event("customer.subscription.created", subscription))
    event = WebhookEvent.objects.get()
    stripe_fake.stop()
    with pytest.raises(Exception, match="Stripe"):
        webhook_event_replay(webhook_event_id=event.id)
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.FAILED
    assert "APIConnectionError" in event.last_error
    return event


def test_replay_from_the_admin(failed_event, stripe_fake, public_client, tenant):
    staff = UserFactory(is_staff=True, is_superuser=True)
    public_client.force_login(staff)
    listing = public_client.get("/admin/billing/webhookevent/?state=failed").content.decode()
    assert failed_event.stripe_id in listing and "APIConnectionError" in listing

    # Still down: the admin says so and the event stays failed.
    response = public_client.post(
        "/admin/billing/webhookevent/",
        {"action": "replay", "_selected_action": [failed_event.id]},
        follow=True,
    )
    assert "APIConnectionError" in response.content.decode()

    stripe_fake.start()
    response = public_client.post(
        "/admin/billing/webhookevent/",
        {"action": "replay", "_selected_action": [failed_event.id]},
        follow=True,
    )
    # The admin capitalizes the first letter of a message.
    assert f"{failed_event.stripe_id}: Processed.".lower() in response.content.decode().lower()
    failed_event.refresh_from_db()
    assert failed_event.state == WebhookEvent.State.PROCESSED
    assert billing_account_get(tenant=tenant).plan == "pro"


def test_replay_with_the_command(failed_event, stripe_fake, tenant, capsys):
    with pytest.raises(CommandError, match="1 event"):
        call_command("billing_replay", failed_event.stripe_id)
    stripe_fake.start()
    call_command("billing_replay", failed_event.stripe_id)
    assert f"{failed_event.stripe_id}: Processed" in capsys.readouterr().out
    assert billing_account_get(tenant=tenant).plan == "pro"
    with pytest.raises(CommandError, match="No stored Stripe event evt_nope"):
        call_command("billing_replay", "evt_nope")
