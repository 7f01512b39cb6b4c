from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from saas.hosts import public_url as public_absolute_url

register = template.Library()


@register.simple_tag
def public_url(name: str, *args: object) -> str:
    """The public host's absolute URL of a named public route (tenant pages link there across hosts)."""
    return public_absolute_url(reverse(name, args=args or None, urlconf=settings.PUBLIC_SCHEMA_URLCONF))


@register.simple_tag(takes_context=True)
def active(context: template.Context, *names: str) -> SafeString:
    """`aria-current="page"` when the current route is one of `names` (the nav's active mark)."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    current = match is not None and match.url_name in names
    return mark_safe('aria-current="page"' if current else "")  # noqa: S308  # a constant, no input
