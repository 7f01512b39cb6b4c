"""Absolute URLs on the public host and on tenant hosts."""

from django.conf import settings


def _port() -> str:
    return f":{settings.SAAS_PUBLIC_PORT}" if settings.SAAS_PUBLIC_PORT else ""


def public_url(path: str = "/") -> str:
    """An absolute URL on the public host (sign-up, login, admin, webhooks)."""
    return f"{settings.SAAS_SCHEME}://{settings.SAAS_BASE_DOMAIN}{_port()}{path}"


def tenant_url(host: str, path: str = "/") -> str:
    """An absolute URL on a tenant host (`<slug>.<base>` or a custom domain)."""
    return f"{settings.SAAS_SCHEME}://{host}{_port()}{path}"
