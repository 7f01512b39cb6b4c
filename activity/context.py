"""Where an audit row learns which request (or task) made the change.

The request id and trace id are the ones every log line carries: saas.observability binds
them into structlog's context variables for each request and task, so reading them here means
the audit row and the logs always agree. The client address is not a log field (logs are
shipped to third parties; the audit log stays in the tenant's schema), so it travels in a
context variable of its own, set by `AuditContextMiddleware`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

import structlog
from django.http import HttpRequest, HttpResponse

_client_ip: ContextVar[str | None] = ContextVar("audit_client_ip", default=None)


@dataclass(frozen=True)
class AuditContext:
    request_id: str
    trace_id: str
    ip: str | None


def audit_context() -> AuditContext:
    """The current request's (or task's) ids and client address; blanks outside either."""
    bound = structlog.contextvars.get_contextvars()
    return AuditContext(
        request_id=str(bound.get("request_id") or "")[:64],
        trace_id=str(bound.get("trace_id") or "")[:64],
        ip=_client_ip.get(),
    )


class AuditContextMiddleware:
    """Remember the client address for the audit rows the request writes.

    REMOTE_ADDR only, never X-Forwarded-For read here: any client can send that header. Behind
    a load balancer, let the web server rewrite REMOTE_ADDR from the proxy's header for the
    proxy's address alone (uvicorn's --forwarded-allow-ips), and the client's address lands here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _client_ip.set(request.META.get("REMOTE_ADDR") or None)
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)
