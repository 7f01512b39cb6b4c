"""allauth hooks: where a login lands, who may use allauth's own sign-up, and how its emails
name the site.

Every URL allauth puts in an email is built from SAAS_BASE_DOMAIN (saas.hosts.public_url),
never from the request's Host: with ALLOWED_HOSTS=* (host routing is the tenant resolver's
job) a request to `www.` or another port would otherwise put that host in a password-reset
link.
"""

from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlencode

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from saas.hosts import public_url

PUBLIC_URLS = settings.PUBLIC_SCHEMA_URLCONF


def _public(name: str, **kwargs: Any) -> str:
    return public_url(reverse(name, urlconf=PUBLIC_URLS, **kwargs))


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

    def get_reset_password_from_key_url(self, key: str) -> str:
        path = reverse(
            "account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"}, urlconf=PUBLIC_URLS
        )
        return public_url(path.replace("UID-KEY", quote(key)))

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation: Any) -> str:
        return _public("account_confirm_email", args=[emailconfirmation.key])

    def send_account_already_exists_mail(self, email: str) -> None:
        context = {"signup_url": _public("signup"), "password_reset_url": _public("account_reset_password")}
        self.send_mail("account/email/account_already_exists", email, context)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # allauth builds the sign-up link of its "unknown account" mail from the request, and
        # `current_site` is a RequestSite: the request's Host again. Every email gets ours.
        if "signup_url" in context:
            context = {**context, "signup_url": _public("signup")}
        site = SimpleNamespace(name=settings.SAAS_SITE_NAME, domain=settings.SAAS_BASE_DOMAIN)
        super().send_mail(template_prefix, email, {"current_site": site, **context})

    def format_email_subject(self, subject: str) -> str:
        return f"[{settings.SAAS_SITE_NAME}] {subject}"
