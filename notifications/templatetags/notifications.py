from django import template

from notifications.selectors import notification_unread_count

register = template.Library()


@register.inclusion_tag("notifications/_bell.html", takes_context=True)
def notification_bell(context: template.Context) -> dict[str, object]:
    """The shell's bell: the member's unread count, kept current by the live dashboard client."""
    request = context["request"]
    return {"unread": notification_unread_count(user=request.user)}
