"""The page middleware that a request carrying an API key does not need, made to step aside.

A request to /api/v1/ with `Authorization: Bearer ...` is authenticated by its key alone
(api/authentication.py): DRF's `SessionAuthentication` comes after the key's and is never
asked, so the session, the host binding of the session, the lazy `request.user` and the flash
messages would be built and saved for nothing. Profiling bench/api.py, these were about 150
Python calls of a request's ~8,400 (docs/benchmarks.md, "API"). Django has no per-path
middleware, so each is a subclass that passes such a request straight on; everything else
(browser requests to the API with their session and CSRF token included) goes through them
unchanged. CSRF stays as it is: DRF's views are exempt and only its session authentication
enforces the token, which a bearer request never reaches.

DRF sets `request.user` on the Django request once the key is accepted, so the request log
line, the audit context and the trace carry the key's user as before.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest

from accounts.middleware import SessionHostMiddleware

API_PATH = "/api/v1/"


def is_key_request(request: HttpRequest) -> bool:
    """An API call that authenticates with a key (whether the key is any good is the API's call)."""
    return request.path_info.startswith(API_PATH) and request.META.get("HTTP_AUTHORIZATION", "").startswith(
        "Bearer "
    )


class _PassKeyRequests:
    get_response: Callable[[HttpRequest], Any]

    def __call__(self, request: HttpRequest) -> Any:
        # Under ASGI get_response returns a coroutine, which the caller awaits as it would
        # the middleware's own.
        if is_key_request(request):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class ApiSessionMiddleware(_PassKeyRequests, SessionMiddleware):
    pass


class ApiSessionHostMiddleware(_PassKeyRequests, SessionHostMiddleware):
    pass


class ApiAuthenticationMiddleware(_PassKeyRequests, AuthenticationMiddleware):
    pass


class ApiMessageMiddleware(_PassKeyRequests, MessageMiddleware):
    pass
