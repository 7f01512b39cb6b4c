from django import template

from accounts.selectors import membership_list_for_user

register = template.Library()


@register.inclusion_tag("accounts/_org_switcher.html", takes_context=True)
def organization_switcher(context: template.Context) -> dict[str, object]:
    """The tenant host's menu: the user's organizations (switch by hand-off) and log out."""
    request = context.get("request")
    user = getattr(request, "user", None)
    memberships = membership_list_for_user(user=user) if user is not None and user.is_authenticated else []
    return {
        "user": user,
        "current_tenant": context.get("current_tenant"),
        "memberships": memberships,
        "csrf_token": context.get("csrf_token"),
    }
