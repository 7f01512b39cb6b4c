"""One error format everywhere: RFC 9457 problem details, `application/problem+json`.

    {"type": "urn:saas:problem:validation_error", "title": "Invalid request", "status": 400,
     "detail": "...", "code": "validation_error",
     "errors": [{"field": "name", "code": "required", "detail": "This field is required."}]}

`code` is the machine-readable reason (also the last part of `type`); `errors` lists field
errors (query parameters and headers are fields too). Domain errors of the services are
turned into problems here, so views only call services.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from accounts.errors import MembershipError
from invitations.errors import InvitationBusy, InvitationError
from projects.errors import ProjectError, ProjectVersionConflict

CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
}


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed since you read it (If-Match does not match its ETag)."
    default_code = "precondition_failed"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the resource's current state."
    default_code = "conflict"


# Invitation refusals by code: who may not (403), too soon (429), busy (409); the rest are
# requests that cannot be carried out as asked (409, with the service's message).
_INVITATION_STATUS = {"forbidden": 403, "rate_limited": 429, "busy": 409}
# Refusals of accounts' member services: who may act (403), not a member (404); the rules
# (last owner, acting on yourself) are conflicts with the organization's state (409).
_MEMBERSHIP_STATUS = {"forbidden": 403, "not_member": 404}
# Refusals of either that are about one field of the request (a role above your own): a 400
# validation error on that field, found where a client finds every other field error.
_FIELD_BY_CODE = {"role": "role"}
_STATUS_BY_CODE: tuple[tuple[type[InvitationError] | type[MembershipError], dict[str, int]], ...] = (
    (MembershipError, _MEMBERSHIP_STATUS),
    (InvitationError, _INVITATION_STATUS),
)


def problem(status_code: int, code: str, detail: str, errors: list[dict[str, str]] | None = None) -> dict:
    body: dict[str, Any] = {
        "type": f"urn:saas:problem:{code}",
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return body


def _is_leaf(details: Any) -> bool:
    return isinstance(details, dict) and set(details) == {"message", "code"}


def _join(prefix: str, name: object) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def _field_errors(details: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested error details as a flat list of {field, code, detail} ("items.0.name")."""
    if _is_leaf(details):
        field = prefix or "non_field_errors"
        return [{"field": field, "code": str(details["code"]), "detail": str(details["message"])}]
    found: list[dict[str, str]] = []
    if isinstance(details, dict):
        for name, value in details.items():
            found += _field_errors(value, prefix if name == "non_field_errors" else _join(prefix, name))
    elif isinstance(details, list):
        for index, value in enumerate(details):
            found += _field_errors(value, prefix if _is_leaf(value) else _join(prefix, index))
    return found


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, ProjectVersionConflict):
        return PreconditionFailed(exc.message)
    if isinstance(exc, ProjectError):
        if exc.field:
            return exceptions.ValidationError({exc.field: [exceptions.ErrorDetail(exc.message, exc.code)]})
        return Conflict(exc.message, exc.code)
    if isinstance(exc, InvitationBusy):
        return Conflict(exc.message, exc.code)
    for kind, statuses in _STATUS_BY_CODE:
        if isinstance(exc, kind):
            if exc.code in _FIELD_BY_CODE:
                return exceptions.ValidationError(
                    {_FIELD_BY_CODE[exc.code]: [exceptions.ErrorDetail(exc.message, exc.code)]}
                )
            error = Conflict(exc.message, exc.code)
            error.status_code = statuses.get(exc.code, status.HTTP_409_CONFLICT)  # type: ignore[assignment]
            return error
    return None


def problem_response(exc: exceptions.APIException, headers: dict[str, str] | None = None) -> Response:
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.get_full_details())
        detail = errors[0]["detail"] if len(errors) == 1 else f"{len(errors)} fields are invalid."
        body = problem(exc.status_code, "validation_error", detail, errors)
    else:
        full = exc.get_full_details()
        message = full.get("message", str(exc.detail)) if isinstance(full, dict) else str(exc.detail)
        code = full.get("code", exc.default_code) if isinstance(full, dict) else exc.default_code
        body = problem(exc.status_code, str(code), str(message))
    response = Response(body, status=exc.status_code, headers=headers, content_type=CONTENT_TYPE)
    return response


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every refusal of every API view as a problem document."""
    api_exception = _as_api_exception(exc)
    if api_exception is None:
        return None  # a bug: let it reach the 500 handling (logged, Sentry)
    headers: dict[str, str] = {}
    if getattr(api_exception, "auth_header", None):
        headers["WWW-Authenticate"] = api_exception.auth_header  # type: ignore[attr-defined]
    wait = getattr(api_exception, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(int(wait))
    set_rollback()
    return problem_response(api_exception, headers)


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any /api/ path no view serves: a 404 problem, not the HTML page."""
    return JsonResponse(
        problem(404, "not_found", "No API endpoint has this path."), status=404, content_type=CONTENT_TYPE
    )
