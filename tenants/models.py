from django.db import models
from django.db.models.functions import Lower
from django_tenants.models import DomainMixin, TenantMixin

from tenants.validators import validate_slug


class Tenant(TenantMixin):
    """An organization's identity: name, subdomain slug and its own PostgreSQL schema.

    Its plan, seats and Stripe customer are billing's (`billing.BillingAccount`), kept off
    this row because the host -> tenant cache serves copies of it.
    """

    name = models.CharField(max_length=100)
    slug = models.CharField(
        max_length=40,
        unique=True,
        validators=[validate_slug],
        error_messages={"unique": "This subdomain is already taken."},
    )
    # Members must use two-factor authentication to reach the organization (accounts.guard);
    # switched by owners (accounts.services.tenant_two_factor_require).
    # db_default: rows written without the column (older code during a deploy, historical
    # models in data migrations) read as off.
    require_two_factor = models.BooleanField(default=False, db_default=False)
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


class Domain(DomainMixin):
    """A host name that resolves to a tenant: `<slug>.<base>` or a customer's own domain."""

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("domain"), name="tenants_domain_domain_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.domain


class SchemaMigration(models.Model):
    """One tenant schema's last migration run (tenants.migration): what it was brought to, and how.

    The schemas' own `django_migrations` tables say what is applied; these rows say what the
    orchestrator did about it, so staff can see schemas that failed or are still behind.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    schema_name = models.CharField(max_length=63, unique=True)
    # The tenant apps' leaf migrations ("app.name") the run brought the schema to.
    target = models.JSONField(default=list)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["schema_name"]
        indexes = [models.Index(fields=["state"], name="tenants_schemamig_state_idx")]

    def __str__(self) -> str:
        return f"{self.schema_name}: {self.state}"
