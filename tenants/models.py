from django.db import models
from django.db.models.functions import Lower
from django_tenants.models import DomainMixin, TenantMixin

from tenants.validators import validate_slug


class Tenant(TenantMixin):
    """An organization: its own PostgreSQL schema, subdomain and plan."""

    name = models.CharField(max_length=100)
    slug = models.CharField(
        max_length=40,
        unique=True,
        validators=[validate_slug],
        error_messages={"unique": "This subdomain is already taken."},
    )

    class PlanStatus(models.TextChoices):
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Canceled"

    # Owned by billing (billing.services.subscription_apply); codes are in billing/plans.py.
    plan = models.CharField(max_length=32, default="free")
    plan_status = models.CharField(max_length=16, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    # Seats bought (a subscription's quantity can exceed the plan's included seats); None: the plan's.
    seats = models.PositiveIntegerField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    # The tenant is the Stripe customer (dj-stripe's subscriber model).
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Schemas are made by tenants.services.tenant_provision (a template copy), never by
    # django-tenants' migrations-on-save, and never dropped as a side effect of a delete.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def email(self) -> str:
        """The billing address: the first owner's (dj-stripe needs an email on its subscriber)."""
        owner = self.memberships.filter(role="owner").select_related("user").order_by("created_at").first()
        return owner.user.email if owner else ""


class Domain(DomainMixin):
    """A host name that resolves to a tenant: `<slug>.<base>` or a customer's own domain."""

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("domain"), name="tenants_domain_domain_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.domain
