"""Error pages.

`server_error`: Django's default renders 500.html without the request, so the request id a user
should quote would be missing. This one passes it, and nothing else: no context processors
(they may need the database that just failed). `ViewExceptionMiddleware`: a view's exception
is answered on the view's thread (see its docstring).
"""

import sys
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader

from saas.unavailable import database_unavailable_response


def server_error(request: HttpRequest) -> HttpResponse:
    # Called inside Django's `except`: a database that stopped answering while a middleware
    # used it (the session's user, say) is the 503 of saas/unavailable.py, not a 500.
    unavailable = database_unavailable_response(request, sys.exc_info()[1])
    if unavailable is not None:
        return unavailable
    template = loader.get_template("500.html")
    body = template.render(
        {"request_id": getattr(request, "request_id", ""), "site_name": settings.SAAS_SITE_NAME}
    )
    return HttpResponseServerError(body)


class ViewExceptionMiddleware:
    """A view's exception becomes its error page on the request's own thread.

    Under ASGI, Django turns an exception raised by a sync view into its response on a thread
    of its own (`convert_exception_to_response` calls `response_for_exception` with
    `thread_sensitive=False`). That thread's database connection has no tenant schema, so a
    tenant host's 404 or 403 page, whose layout counts the member's notifications, failed and
    the person got a 500. `process_exception` runs on the view's thread, with the request's
    schema: the same response Django would give (handler404/403/400/500, logging, signals),
    made where the request's connection is. Under WSGI nothing changes but the call site.

    Listed above every middleware with a `process_exception` of its own (they run innermost
    first), so theirs (the database-unavailable 503) still get the first word.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse:
        return response_for_exception(request, exception)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: Django's own page renders without the request (and so
    without the request id the other error pages show); this one renders ours with it."""
    return render(request, "403_csrf.html", status=403)
