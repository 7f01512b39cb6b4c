"""The OpenAPI document: what drf-spectacular derives, plus what every operation shares.

The hook adds, to every operation, the problem responses it can answer (RFC 9457, one
`Problem` schema), the `RateLimit-*` headers, `Idempotency-Key` on POSTs and `ETag` where a
resource has one; request bodies refuse unknown properties (as the serializers do). The
report job's schema (`ReportJob`) is written out here, with its nullable fields, and the
`reports` tag says how the operations fit together.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

PROBLEM = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` is the machine-readable reason.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "urn:saas:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Field errors (body fields, query parameters, headers).",
            "items": {
                "type": "object",
                "required": ["field", "code", "detail"],
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}

REPORT_JOB_SCHEMA = {
    "type": "object",
    "description": "A report job, built in the background by the worker.",
    "required": ["id", "kind", "state", "progress", "created_at", "finished_at", "download_url", "error"],
    "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string", "description": "Which report, e.g. `members_csv`."},
        "state": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "created_at": {"type": "string", "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "download_url": {"type": ["string", "null"], "format": "uri", "description": "Set once succeeded."},
        "error": {"type": ["string", "null"]},
    },
}

REPORT_JOB_DESCRIPTION = """Reports run as background jobs:

- `POST /api/v1/reports/` with `{"kind": "members_csv"}` (or `summary_xlsx`, or `activity_csv`
  with `date_from` and `date_to`, at most 366 days apart) answers **202** with the job and a
  `Location: /api/v1/reports/{id}/` header (an `Idempotency-Key` makes retries safe);
- `GET /api/v1/reports/{id}/` polls it: `state` queued -> running -> succeeded | failed, `progress` 0-100;
- `GET /api/v1/reports/{id}/download/` answers the file once succeeded (`download_url`), 404
  before. Members see the jobs they started, admins and owners every job. The job's schema is
  `ReportJob`. Scope: `reports:read` / `reports:write`.
"""

_RATE_HEADERS = {
    "RateLimit-Limit": "Requests allowed in the window (the tighter of per caller and per organization).",
    "RateLimit-Remaining": "Requests left in the current window.",
    "RateLimit-Reset": "Seconds until the window resets.",
}

_ERRORS = {
    "400": "Invalid input: malformed JSON, field errors, bad query parameters.",
    "401": "No credentials, or a key that is unknown here, revoked or expired.",
    "403": "Signed in but not allowed: the role is too low, the key lacks the scope, or CSRF failed.",
    "404": "No such object in this organization (also every object of another organization).",
    "405": "The method is not allowed on this path.",
    "406": "The Accept header asks for something other than JSON.",
    "413": "The body is too large.",
    "415": "The body is not JSON.",
    "429": "Too many requests; `Retry-After` says when to come back.",
}
_WRITE_ERRORS = {
    "409": "The object's state forbids this (or an identical idempotent request is still running).",
    "422": "The Idempotency-Key was used with a different request.",
}
_UPDATE_ERRORS = {"412": "If-Match names a version that is no longer current."}


def _header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "schema": schema or {"type": "integer"}}


def finish_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ReportJob"] = REPORT_JOB_SCHEMA
    for name, schema in schemas.items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    headers = components.setdefault("headers", {})
    for name, description in _RATE_HEADERS.items():
        headers[name] = _header(description)
    headers["Retry-After"] = _header("Seconds to wait before retrying.")
    headers["ETag"] = _header('The object\'s version, "<n>"; send it back as If-Match.', {"type": "string"})
    rate_refs = {name: {"$ref": f"#/components/headers/{name}"} for name in _RATE_HEADERS}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for response in responses.values():
                response.setdefault("headers", {}).update(rate_refs)
            errors = dict(_ERRORS)
            if method != "get":
                errors.update(_WRITE_ERRORS)
            if method in {"patch", "put", "delete"}:
                errors.update(_UPDATE_ERRORS)
            for code, description in errors.items():
                headers_of = dict(rate_refs)
                if code == "429":
                    headers_of["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "headers": headers_of,
                        "content": {"application/problem+json": {"schema": PROBLEM}},
                    },
                )
            if "{id}" in path and "/projects/" in path and method in {"get", "patch"}:
                responses["200"]["headers"]["ETag"] = {"$ref": "#/components/headers/ETag"}
            if method == "post":
                operation.setdefault("parameters", []).append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "Makes a retry safe: the same key and body answer the first "
                        "response for 24 h (marked Idempotent-Replayed); another body is a 422.",
                        "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
                    }
                )
    tags = result.setdefault("tags", [])
    tags.append({"name": "reports", "description": REPORT_JOB_DESCRIPTION})
    return result


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organization's API key: `Authorization: Bearer sk_...`. "
            "Keys are made on the organization's API keys page or with `manage.py create_api_key`.",
        }
