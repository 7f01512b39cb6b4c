"""Route each request to the public site or to one tenant's schema, by host name."""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.http.request import split_domain_port
from django.template.loader import render_to_string
from django.urls import set_urlconf

from saas.observability import bind_request_context
from tenants.resolution import resolver


def hostname_of(request: HttpRequest) -> str:
    """The request's host without port or trailing dot, lower-cased; DisallowedHost if malformed."""
    domain, _port = split_domain_port(request.get_host())
    return domain


def unknown_host_response(request: HttpRequest, hostname: str) -> HttpResponse:
    # Rendered with the request so the page names the site and links to the public host.
    body = render_to_string("tenants/unknown_host.html", {"hostname": hostname}, request=request)
    return HttpResponseNotFound(body)


class TenantResolutionMiddleware:
    """Like django-tenants' TenantMainMiddleware, without its two queries per request.

    The host lookup is served from a per-process cache (tenants.resolution) and the connection's
    search path is changed only when the schema differs from the one it already has
    (tenants.postgresql_backend). Unknown or malformed hosts get a 404 page and never reach
    a view, so they can see neither public nor tenant data. WhiteNoise runs before this
    middleware, so that page's stylesheet is served on every host.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.public_hosts = {settings.SAAS_BASE_DOMAIN, f"www.{settings.SAAS_BASE_DOMAIN}"}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            hostname = hostname_of(request)
        except DisallowedHost:
            hostname = ""
        if not hostname:
            return unknown_host_response(request, request.META.get("HTTP_HOST", ""))

        if hostname in self.public_hosts:
            connection.set_schema_to_public()  # type: ignore[attr-defined]
            request.tenant = None  # type: ignore[attr-defined]
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        else:
            tenant = resolver.resolve(hostname)
            if tenant is None:
                connection.set_schema_to_public()  # type: ignore[attr-defined]
                return unknown_host_response(request, hostname)
            connection.set_tenant(tenant)  # type: ignore[attr-defined]
            request.tenant = tenant  # type: ignore[attr-defined]
            request.urlconf = settings.ROOT_URLCONF
        set_urlconf(request.urlconf)
        bind_request_context(tenant_id=connection.schema_name)  # type: ignore[attr-defined]
        return self.get_response(request)
