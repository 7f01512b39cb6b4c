"""What a caller may do: the tenant guard's rule for sessions, scopes plus the creator's role for keys.

Each view names its `api_resource` and the roles it asks for reading and writing
(`read_role`, `write_role`). A session is checked with `accounts.guard.tenant_access`, the
rule the pages use. A key acts as its creator: it needs the scope *and* the creator's
current role must be high enough (a key never outranks the person who made it).

Someone who is not a member of the host's organization gets 404, never 403: a refusal that
confirms the organization or the object exists is itself a leak.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.guard import TenantAccessDenied, tenant_access
from accounts.models import ROLE_RANK, Membership
from api.models import ApiKey


class RoleTooLow(exceptions.PermissionDenied):
    default_code = "role_too_low"


class ScopeMissing(exceptions.PermissionDenied):
    default_code = "scope_missing"


class TwoFactorRequired(exceptions.PermissionDenied):
    default_code = "two_factor_required"
    default_detail = (
        "This organization requires two-factor authentication: set it up on your account's security page."
    )


def required_role(view: Any, request: Request) -> str:
    if request.method in SAFE_METHODS:
        return getattr(view, "read_role", Membership.Role.MEMBER)
    return getattr(view, "write_role", Membership.Role.MEMBER)


class TenantApiPermission(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        tenant = getattr(request, "tenant", None)
        if tenant is None:  # the public host serves no API
            raise exceptions.NotFound()
        role = required_role(view, request)
        writing = request.method not in SAFE_METHODS
        api_key = request.auth
        if isinstance(api_key, ApiKey):
            resource = view.api_resource
            if not api_key.allows(resource, write=writing):
                mode = "write" if writing else "read"
                raise ScopeMissing(f"This key lacks the {resource}:{mode} scope.")
            creator_role = Membership.Role(api_key.creator_role)  # type: ignore[attr-defined]
            if ROLE_RANK[creator_role] > ROLE_RANK[Membership.Role(role)]:
                raise RoleTooLow(f"This needs the {role} role; the key's creator is {creator_role}.")
            return True
        try:
            request.membership = tenant_access(user=request.user, tenant=tenant, role=role)  # type: ignore[attr-defined]
        except TenantAccessDenied as denied:
            if denied.reason == TenantAccessDenied.NOT_SIGNED_IN:
                raise exceptions.NotAuthenticated() from denied
            if denied.reason == TenantAccessDenied.NOT_A_MEMBER:
                raise exceptions.NotFound() from denied
            if denied.reason == TenantAccessDenied.TWO_FACTOR_REQUIRED:
                raise TwoFactorRequired() from denied
            raise RoleTooLow(f"This needs the {role} role.") from denied
        return True
