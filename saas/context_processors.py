from django.conf import settings
from django.http import HttpRequest

from saas.hosts import public_url


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "current_tenant": getattr(request, "tenant", None),
        "public_site_url": public_url("/"),
        "site_name": settings.SAAS_SITE_NAME,
    }
