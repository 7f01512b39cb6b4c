"""The Content Security Policy's per-request parts (the fixed policy is in settings).

- connect-src: the socket client (realtime/live.js) connects to `ws(s)://<this host>/ws/...`.
  CSP 3 lets 'self' cover it, but older engines do not, and tenants' custom domains are only
  known per request, so the page's own host is named with the WebSocket scheme.
- form-action: a page that posts somewhere the fixed list does not cover (the login hand-off
  to a tenant's custom domain) names that target with `csp_form_target`.

A response that carries a policy of its own already (the API's JSON: `default-src 'none'`)
keeps it, and the page policy is not built for it: django-csp builds it before looking
whether the header is set, ~180 Python calls per request (bench/api.py).
"""

from urllib.parse import urlsplit

from csp.constants import HEADER
from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.response import HttpResponseBase

FORM_TARGETS = "_saas_csp_form_targets"


def csp_form_target(response: HttpResponseBase, url: str) -> HttpResponseBase:
    """Let the page in `response` submit a form to `url`'s origin."""
    parts = urlsplit(url)
    targets: list[str] = getattr(response, FORM_TARGETS, [])
    targets.append(f"{parts.scheme}://{parts.netloc}")
    setattr(response, FORM_TARGETS, targets)
    return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if HEADER in response:
            return response
        return super().process_response(request, response)

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        update = {
            key: list(value) if isinstance(value, list | tuple) else [value]
            for key, value in (parts.update or {}).items()
        }
        try:
            host = request.get_host()
        except DisallowedHost:
            host = ""
        if host:
            scheme = "wss" if request.is_secure() else "ws"
            update.setdefault("connect-src", []).append(f"{scheme}://{host}")
        targets = getattr(response, FORM_TARGETS, [])
        if targets:
            update.setdefault("form-action", []).extend(targets)
        parts.update = update
        return parts
