"""allauth hooks: where a login lands, and who may use allauth's own sign-up."""

from urllib.parse import urlencode

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Sign-up goes through our own form (/signup/, accounts.views.signup), which also
        # creates the organization; allauth's sign-up view is never routed to.
        return False

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # From the public host a login continues to the user's organization (login hand-off);
        # a `next` on a tenant host (allauth refuses other hosts) picks which one.
        target = reverse("organization_go")
        wanted = request.POST.get("next") or request.GET.get("next") or ""
        return f"{target}?{urlencode({'next': wanted})}" if wanted.startswith("http") else target
