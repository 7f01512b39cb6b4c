"""Writes for tenants and domains. Each service owns its transaction."""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_tenants.utils import schema_context

from activity.models import AuditAction
from activity.services import audit_record
from saas.text import display_text_clean
from tenants.models import Domain, Tenant
from tenants.schema_template import schema_copy_template
from tenants.validators import schema_name_for, validate_hostname, validate_slug


def tenant_domain_for_slug(slug: str) -> str:
    return f"{slug}.{settings.SAAS_BASE_DOMAIN}"


@transaction.atomic
def tenant_provision(
    *, name: str, slug: str, custom_domain: str | None = None, actor: AbstractBaseUser | None = None
) -> Tenant:
    """Create a usable tenant: row, schema (a template copy), primary domain, audit row.

    All of it happens in the caller's transaction (PostgreSQL DDL is transactional), so a
    failure anywhere leaves no tenant, schema or domain behind.
    """
    slug = (slug or "").strip().lower()
    try:
        # Before full_clean(): a bad slug would also surface as a confusing schema_name error.
        validate_slug(slug)
    except ValidationError as error:
        raise ValidationError({"slug": error.messages}) from error
    tenant = Tenant(name=display_text_clean(name), slug=slug, schema_name=schema_name_for(slug))
    # schema_name follows from the slug, so its own unique check would only repeat the slug's
    # ("Tenant with this Schema name already exists") in words a customer should not see.
    tenant.full_clean(exclude=["schema_name"])
    try:
        with transaction.atomic():
            tenant.save()
    except IntegrityError as error:  # a concurrent sign-up took the slug after full_clean()
        raise ValidationError({"slug": "This subdomain is already taken."}) from error
    schema_copy_template(schema_name=tenant.schema_name)
    domain_create(tenant=tenant, domain=tenant_domain_for_slug(slug), is_primary=True)
    if custom_domain:
        domain_create(tenant=tenant, domain=custom_domain, is_primary=False)
    with schema_context(tenant.schema_name):
        audit_record(
            action=AuditAction.TENANT_PROVISIONED,
            actor=actor,
            target=tenant.slug,
            data={"name": tenant.name},
            changes={"name": [None, tenant.name], "slug": [None, tenant.slug]},
        )
    return tenant


@transaction.atomic
def domain_create(*, tenant: Tenant, domain: str, is_primary: bool = False) -> Domain:
    """Attach a host name to a tenant; a host already in use is refused with a clear message."""
    host = (domain or "").strip().lower().rstrip(".")
    if host == settings.SAAS_BASE_DOMAIN:
        raise ValidationError({"domain": "The base domain is the public site, not a tenant."})
    try:
        validate_hostname(host)
    except ValidationError as error:
        raise ValidationError({"domain": error.messages}) from error
    if Domain.objects.filter(domain__iexact=host).exists():
        raise ValidationError({"domain": f"The domain {host} is already in use."})
    record = Domain(tenant=tenant, domain=host, is_primary=is_primary)
    record.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError as error:
        raise ValidationError({"domain": f"The domain {host} is already in use."}) from error
    return record
