import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from billing.plans import PLANS, plan_for_price
from billing.seats import seat_counter_register, seat_counter_unregister, seat_counters, seats_used
from billing.selectors import billing_account_get
from billing.services import seat_check
from tests.conftest import on_plan

pytestmark = pytest.mark.django_db


def test_free_plan_refuses_the_fourth_seat_naming_the_plan(tenant, member_of):
    for _ in range(3):
        member_of(tenant)
    assert seats_used(tenant=tenant) == 3
    assert billing_account_get(tenant=tenant).current_plan.name == "Free"
    with pytest.raises(ValidationError) as refused:
        seat_check(tenant=tenant)
    assert refused.value.messages == ["The Free plan includes 3 seats; upgrade to invite more."]


def test_a_seat_within_the_limit_is_allowed(tenant, member_of):
    member_of(tenant)
    seat_check(tenant=tenant, adding=2)
    with pytest.raises(ValidationError):
        seat_check(tenant=tenant, adding=3)


def test_pro_plan_and_bought_seats_raise_the_limit(tenant, member_of):
    on_plan(tenant, "pro")
    account = billing_account_get(tenant=tenant)
    assert account.seat_limit == PLANS["pro"].seats == 10
    account.seats = 25
    assert account.seat_limit == 25
    for _ in range(4):
        member_of(tenant)
    seat_check(tenant=tenant)


@override_settings(STRIPE_PRICE_PRO="price_pro_x", STRIPE_PRICE_BUSINESS="price_biz_x")
def test_prices_map_to_plans_through_settings():
    pro, business = plan_for_price("price_pro_x"), plan_for_price("price_biz_x")
    assert pro is not None and pro.code == "pro"
    assert business is not None and business.code == "business"
    assert plan_for_price("price_unknown") is None
    assert plan_for_price("") is None


def test_an_invitation_beyond_the_plans_seats_is_refused_naming_the_plan(tenant, member_of):
    from invitations.errors import InvitationError
    from invitations.models import Invitation
    from invitations.services import invitation_create

    owner = member_of(tenant, role="owner")
    member_of(tenant)
    invitation_create(tenant=tenant, inviter=owner, email="third@example.com", role="member")
    assert seats_used(tenant=tenant) == 3  # two members and a pending invitation
    with pytest.raises(InvitationError) as refused:
        invitation_create(tenant=tenant, inviter=owner, email="fourth@example.com", role="member")
    assert "The Free plan includes 3 seats; upgrade to invite more." in str(refused.value)
    assert not Invitation.objects.filter(email="fourth@example.com").exists()

    on_plan(tenant, "pro")
    invitation_create(tenant=tenant, inviter=owner, email="fourth@example.com", role="member")


def test_invitations_registers_its_pending_invitations_as_a_seat_counter():
    from invitations.selectors import invitation_pending_count

    assert invitation_pending_count in seat_counters()


@pytest.fixture
def reserved_seats():
    """A seat counter of a made-up app (seats reserved for, say, guests), registered for one test."""
    reserved: dict[int, int] = {}

    def seats_reserved(*, tenant) -> int:
        return reserved.get(tenant.pk, 0)

    seat_counter_register(seats_reserved)
    yield reserved, seats_reserved
    seat_counter_unregister(seats_reserved)


def test_a_registered_counter_takes_seats_once_however_often_it_registers(tenant, member_of, reserved_seats):
    reserved, counter = reserved_seats
    member_of(tenant)
    assert seats_used(tenant=tenant) == 1
    reserved[tenant.pk] = 2
    seat_counter_register(counter)  # again, as a second AppConfig.ready() would
    assert seats_used(tenant=tenant) == 3  # one member + two reserved, counted once
    with pytest.raises(ValidationError, match="Free plan includes 3 seats"):
        seat_check(tenant=tenant)
    seat_counter_unregister(counter)
    assert seats_used(tenant=tenant) == 1
    seat_check(tenant=tenant, adding=2)
