"""Reads for tenants and their host names."""

from django.http import Http404

from saas.hosts import tenant_url
from tenants.models import Tenant


def tenant_primary_host(*, tenant: Tenant) -> str:
    """The host name a tenant is reached at: its primary domain (prefetch `domains` to save a query)."""
    domains = list(tenant.domains.all())
    primary = next((d for d in domains if d.is_primary), domains[0] if domains else None)
    if primary is None:
        raise Http404("This organization has no domain.")
    return primary.domain


def tenant_absolute_url(*, tenant: Tenant, path: str = "/") -> str:
    """An absolute URL on the tenant's primary host (for emails and cross-host redirects)."""
    return tenant_url(tenant_primary_host(tenant=tenant), path)
