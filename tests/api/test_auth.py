"""Who may call: keys (scopes, expiry, revocation, own host only) and sessions (tenant guard, CSRF)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from api.models import ApiKey
from api.services import ApiKeyError, api_key_create, api_key_revoke
from tests.api.conftest import Api, problem_of
from tests.conftest import host_of
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_no_credentials_is_401_with_the_bearer_challenge(tenant):
    response = Api(host_of(tenant)).get("/api/v1/projects/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert problem_of(response)["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer a b", "Bearer sk_nope", "Bearer " + "sk_abcdefgh_" + "x" * 43]
)
def test_garbled_or_unknown_keys_are_401(tenant, header):
    response = Client(HTTP_HOST=host_of(tenant)).get("/api/v1/projects/", headers={"Authorization": header})
    assert response.status_code == 401
    assert problem_of(response)["code"] == "invalid_key"


def test_revoked_and_expired_keys_are_401(tenant, owner, make_key):
    revoked = make_key("projects:read")
    api_key_revoke(api_key=ApiKey.objects.get(tenant=tenant), actor=owner)
    response = Api(host_of(tenant), revoked).get("/api/v1/projects/")
    assert response.status_code == 401 and problem_of(response)["code"] == "key_revoked"

    expiring = make_key("projects:read", expires_at=timezone.now() + timedelta(seconds=60))
    ApiKey.objects.filter(revoked_at__isnull=True).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Api(host_of(tenant), expiring).get("/api/v1/projects/")
    assert response.status_code == 401 and problem_of(response)["code"] == "key_expired"


def test_a_key_works_only_on_its_own_organizations_host(tenant, make_tenant, member_of, api):
    other = make_tenant()
    member_of(other, role="owner")
    response = Api(host_of(other), api.key).get("/api/v1/projects/")
    assert response.status_code == 401
    assert problem_of(response)["code"] == "invalid_key"  # not "valid elsewhere": nothing learnt
    # The public host serves no API at all.
    public = Client(HTTP_HOST="localhost").get(
        "/api/v1/projects/", headers={"Authorization": f"Bearer {api.key}"}
    )
    assert public.status_code == 404


def test_read_scope_cannot_write_and_scopes_are_per_resource(tenant, make_key):
    reader = Api(host_of(tenant), make_key("projects:read"))
    assert reader.get("/api/v1/projects/").status_code == 200
    refused = reader.post("/api/v1/projects/", {"name": "x"})
    assert refused.status_code == 403 and problem_of(refused)["code"] == "scope_missing"
    assert problem_of(reader.get("/api/v1/members/"))["code"] == "scope_missing"


def test_a_key_never_outranks_its_creator(
    tenant, owner, member_of, make_key, django_capture_on_commit_callbacks
):
    from accounts.models import Membership
    from accounts.services import membership_remove, membership_role_change

    admin = member_of(tenant, role="admin")
    key = Api(host_of(tenant), make_key("invitations:write", actor=admin))
    assert key.get("/api/v1/invitations/").status_code == 200  # accepted, so remembered
    membership = Membership.objects.get(user=admin, tenant=tenant)
    # Committed changes: the key is looked up again at the next request (api.verified_keys).
    with django_capture_on_commit_callbacks(execute=True):
        membership_role_change(actor=owner, membership=membership, role="member")  # demoted later
    refused = key.post("/api/v1/invitations/", {"email": "new@example.com"})
    assert refused.status_code == 403 and problem_of(refused)["code"] == "role_too_low"
    with django_capture_on_commit_callbacks(execute=True):
        membership_remove(actor=owner, membership=membership)  # and then gone
    assert problem_of(key.get("/api/v1/invitations/"))["code"] == "key_orphaned"


def test_only_owners_and_admins_make_keys_and_scopes_are_checked(tenant, member_of):
    member = member_of(tenant, role="member")
    with pytest.raises(ApiKeyError):
        api_key_create(tenant=tenant, actor=member, name="k", scopes=["projects:read"])
    admin = member_of(tenant, role="admin")
    with pytest.raises(ApiKeyError, match="Unknown scopes"):
        api_key_create(tenant=tenant, actor=admin, name="k", scopes=["everything:write"])
    api_key, secret = api_key_create(tenant=tenant, actor=admin, name="k", scopes=["projects:read"])
    assert secret.startswith(f"sk_{api_key.prefix}_") and secret not in api_key.key_hash


def test_last_used_is_recorded(tenant, make_key):
    secret = make_key("projects:read")
    assert ApiKey.objects.get().last_used_at is None
    Api(host_of(tenant), secret).get("/api/v1/projects/")
    assert ApiKey.objects.get().last_used_at is not None


def session_api(tenant, user) -> Api:
    client = Client(HTTP_HOST=host_of(tenant), enforce_csrf_checks=True)
    assert client.login(email=user.email, password=DEFAULT_PASSWORD)
    return Api(host_of(tenant), client=client)


def test_session_members_read_and_need_csrf_to_write(tenant, member_of):
    member = member_of(tenant, role="member")
    api = session_api(tenant, member)
    assert api.get("/api/v1/projects/").status_code == 200
    no_csrf = api.post("/api/v1/projects/", {"name": "x"})
    assert no_csrf.status_code == 403 and "CSRF" in problem_of(no_csrf)["detail"]
    api.client.get("/api-keys/")  # any page sets the CSRF cookie
    token = api.client.cookies["csrftoken"].value
    created = api.post("/api/v1/projects/", {"name": "x"}, **{"X-CSRFToken": token})
    assert created.status_code == 201, created.content


def test_session_role_rules_follow_the_tenant_guard(tenant, member_of):
    member = session_api(tenant, member_of(tenant, role="member"))
    assert member.get("/api/v1/invitations/").status_code == 200
    member.client.get("/api-keys/")
    token = member.client.cookies["csrftoken"].value
    refused = member.post("/api/v1/invitations/", {"email": "a@example.com"}, **{"X-CSRFToken": token})
    assert refused.status_code == 403 and problem_of(refused)["code"] == "role_too_low"


def test_a_session_of_another_organization_sees_404_never_data(tenant, make_tenant, member_of):
    other = make_tenant()
    stranger = member_of(other, role="owner")
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(stranger)
    response = client.get("/api/v1/projects/")
    assert response.status_code == 404 and problem_of(response)["code"] == "not_found"
