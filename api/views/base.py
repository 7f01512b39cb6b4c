"""What every API view shares: limits, idempotency, problem errors, ETags. Views add only their resource.

The order of a request: body size (413) -> authentication (401) -> permission (403/404) ->
rate limits (429) -> Idempotency-Key (replay / 409 / 422) -> the handler, which parses,
calls one service and renders. A remembered key is counted during authentication, in the Redis
call that re-checks it (api.verified_keys), so a request it makes that the permission check
refuses counts too; its 429 still comes after the permission check.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseBase
from rest_framework import exceptions, serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from api.filters import FieldFilter, StrictOrderingFilter
from api.idempotency import Claim, Replay, idempotency_claim, idempotency_finish
from api.models import ApiKey
from api.problems import PayloadTooLarge, PreconditionFailed
from api.ratelimits import rate_limit_hit

API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
_ETAG = re.compile(r'^(?:W/)?"(?P<version>\d+)"$')


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know (or may not write) instead of ignoring them silently."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: [serializers.ErrorDetail("Unknown field.", "unknown_field")] for name in unknown}
                )
        return super().to_internal_value(data)


def caller_of(request: Request) -> str:
    """Whom the per-caller limit and the idempotency records belong to."""
    if isinstance(request.auth, ApiKey):
        return f"key:{request.auth.pk}"
    return f"user:{request.user.pk}"


def etag_of(version: int) -> str:
    return f'"{version}"'


def expected_version(request: Request) -> int | None:
    """The version named by If-Match (None when absent or `*`); 412 if it names no version."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header.strip())
    if match is None:
        raise PreconditionFailed('If-Match must be an ETag this API sent ("<version>").')
    return int(match["version"])


class ApiBehaviour(GenericAPIView):
    # The base of every API view (see the module docstring). A comment, not a docstring:
    # drf-spectacular would show a docstring as every operation's description.

    filter_backends = [FieldFilter, StrictOrderingFilter]
    # Set by subclasses: the resource its scopes name, and the roles it asks for.
    api_resource = ""
    # The largest body it takes (file uploads raise it, up to REQUEST_BODY_MAX_BYTES).
    max_body_bytes: int | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # A method no handler serves is a 405 whoever asks (DRF would check permissions first).
        if request.method is None or not hasattr(self, request.method.lower()):
            raise exceptions.MethodNotAllowed(request.method or "")
        length = request.headers.get("Content-Length", "0")
        max_bytes = self.max_body_bytes or settings.API_MAX_BODY_BYTES
        if length.isdigit() and int(length) > max_bytes:
            raise PayloadTooLarge(f"The body may be at most {max_bytes} bytes.")
        super().initial(request, *args, **kwargs)
        self._claim: Claim | None = None
        try:
            self._claim = idempotency_claim(
                request,
                caller=caller_of(request),
                tenant_schema=request.tenant.schema_name,  # type: ignore[attr-defined]
            )
        except RequestDataTooBig:
            raise PayloadTooLarge() from None

    def check_throttles(self, request: Request) -> None:
        # A remembered key was counted already, in the round trip that re-checked it
        # (api.authentication).
        if not hasattr(request, "rate_limit"):
            request.rate_limit = rate_limit_hit(  # type: ignore[attr-defined]
                caller=caller_of(request),
                tenant_schema=request.tenant.schema_name,  # type: ignore[attr-defined]
            )
        limit = request.rate_limit  # type: ignore[attr-defined]
        if limit is not None and limit.exceeded:
            raise exceptions.Throttled(wait=limit.reset_seconds)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        # JSON loads nothing and is framed by no one: the policy for API responses (OWASP's
        # REST security cheat sheet), instead of the pages' (saas/csp.py keeps it as it is).
        response["Content-Security-Policy"] = API_CONTENT_SECURITY_POLICY
        limit = getattr(request, "rate_limit", None)
        if limit is not None:
            for name, value in limit.headers().items():
                response[name] = value
        claim = getattr(self, "_claim", None)
        if claim is not None and not response.has_header("Idempotent-Replayed"):
            self._claim = None
            idempotency_finish(claim, response)
        return response

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            claim = getattr(self, "_claim", None)
            if claim is not None:  # the view crashed before finalize_response: free the key
                idempotency_finish(claim, None)


class ApiViewSet(ApiBehaviour, GenericViewSet):
    pass


ApiView = ApiBehaviour
