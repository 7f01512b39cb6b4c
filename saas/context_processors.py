from django.conf import settings
from django.http import HttpRequest

from saas.hosts import public_url


def site(request: HttpRequest) -> dict[str, object]:
    tenant = getattr(request, "tenant", None)
    return {
        # The organization's name is shown only to its members (the tenant guard sets
        # `request.membership`); a visitor on its host learns nothing about it.
        "current_tenant": tenant if getattr(request, "membership", None) is not None else None,
        "on_tenant_host": tenant is not None,
        "public_site_url": public_url("/"),
        "site_name": settings.SAAS_SITE_NAME,
        # Error pages show it so a user can quote it (saas.observability sets it).
        "request_id": getattr(request, "request_id", ""),
    }
