"""The plans, in code: seat limits and feature flags, mapped to Stripe prices through settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from saas.signals import PlanChanged

FREE = "free"
PRO = "pro"
BUSINESS = "business"


@dataclass(frozen=True)
class Plan:
    """What a tenant on this plan may do."""

    code: str
    name: str
    # Seats included (members plus pending invitations); None means no limit.
    seats: int | None
    features: frozenset[str] = field(default_factory=frozenset)
    # Name of the setting that holds this plan's Stripe price id; empty for the free plan.
    price_setting: str = ""
    monthly_price_label: str = ""

    @property
    def price_id(self) -> str:
        return getattr(settings, self.price_setting, "") if self.price_setting else ""

    @property
    def is_paid(self) -> bool:
        return bool(self.price_setting)

    def has(self, feature: str) -> bool:
        return feature in self.features


PLANS: dict[str, Plan] = {
    FREE: Plan(code=FREE, name="Free", seats=3, features=frozenset({"dashboard"})),
    PRO: Plan(
        code=PRO,
        name="Pro",
        seats=10,
        features=frozenset({"dashboard", "api", "custom_domain"}),
        price_setting="STRIPE_PRICE_PRO",
        monthly_price_label="$29 / month",
    ),
    BUSINESS: Plan(
        code=BUSINESS,
        name="Business",
        seats=50,
        features=frozenset({"dashboard", "api", "custom_domain", "audit_export", "sso"}),
        price_setting="STRIPE_PRICE_BUSINESS",
        monthly_price_label="$99 / month",
    ),
}


def plan_get(code: str) -> Plan:
    """The plan with this code; an unknown code (a plan since removed) reads as Free."""
    return PLANS.get(code, PLANS[FREE])


def plan_for_price(price_id: str) -> Plan | None:
    """The plan sold at this Stripe price id, or None for a price we do not know."""
    if not price_id:
        return None
    for plan in PLANS.values():
        if plan.is_paid and plan.price_id == price_id:
            return plan
    return None


def plans_paid() -> list[Plan]:
    """The plans a tenant can buy, cheapest first."""
    return [plan for plan in PLANS.values() if plan.is_paid]


def plan_change_news(change: PlanChanged) -> str | None:
    """What a `plan.changed` event tells owners: "payment_failed", "plan_changed" or nothing."""
    if change.new_status == "past_due" and change.old_status != "past_due":
        return "payment_failed"
    if change.new_plan != change.old_plan:
        return "plan_changed"
    return None  # a status change with no news (e.g. back to active on the same plan)
