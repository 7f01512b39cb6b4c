"""A database that stops answering is a 503, not a 500 (issue 17, part 5).

PostgreSQL restarting or failing over is an outage of the moment, not a bug: the request is
answered "503 Service Unavailable" with `Retry-After`, a plain page (rendering the site's
templates would query the database again) or, under /api/, a problem document. The next
request opens a new connection, so the process recovers on its own once PostgreSQL is back.
Errors of the database that are the code's fault (IntegrityError, ProgrammingError, ...)
still reach the 500 handling.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import structlog
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

logger = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 5
PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Temporarily unavailable</title>"
    "<h1>Temporarily unavailable</h1><p>We could not reach our database just now. "
    "Please try again in a few seconds.</p></html>"
)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return database_unavailable_response(request, exception)


def database_unavailable_response(
    request: HttpRequest, exception: BaseException | None
) -> HttpResponse | None:
    """The 503 for an exception that says the database is not answering, else None.

    Used for a view's exception (above) and by the 500 handler (saas.errors.server_error) for
    one raised in a middleware (the user loaded by a middleware, for example), which Django
    turns into a 500 before any `process_exception` sees it.
    """
    if not isinstance(exception, OperationalError | InterfaceError):
        return None
    logger.warning("database unavailable", error=str(exception).splitlines()[0][:200], path=request.path)
    if request.path.startswith("/api/"):
        body = {
            "type": "urn:saas:problem:database_unavailable",
            "title": "Service unavailable",
            "status": 503,
            "detail": "The database is not answering; try again shortly.",
            "code": "database_unavailable",
        }
        response = HttpResponse(json.dumps(body), status=503, content_type="application/problem+json")
    else:
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
