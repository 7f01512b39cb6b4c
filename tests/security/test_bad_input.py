"""Bad input everywhere (issue 17, part 6): Hypothesis drives the sign-up, invitation,
settings, profile and API-key forms and the API's write endpoints (projects, invitations, a
member's role) with arbitrary text and JSON. Never a 5xx. A form that is not accepted is
shown again with its errors: the form's own error messages, each in the HTML inside Django's
error list, whatever the status (a 200 re-render without them fails). A refused API body is
an RFC 9457 problem document (`application/problem+json`, type, title, status, detail, code);
a 400 is `validation_error` whose `errors[]` each name a field of the body (or
`non_field_errors`) or `parse_error` for a body that is not JSON.

Schemathesis over the whole API against a live server is tests/e2e/test_api_live.py; bodies
over the limit are tests/e2e/test_body_limits.py; malformed Host headers through the real
servers are test_malformed_hosts.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django.utils.html import conditional_escape
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import Membership, User
from accounts.services import membership_create
from api.models import SCOPES, ApiKey
from api.problems import CONTENT_TYPE as PROBLEM_CONTENT_TYPE
from api.services import api_key_create
from tests.factories import UserFactory
from tests.security.isolation import logged_in, make_org

pytestmark = pytest.mark.django_db

EXAMPLES = 60
bounded = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TRICKY = [
    "", " ", "\x00", "a" * 5000, "\r\nBcc: victim@example.com", "<script>alert(1)</script>", "../..",
    "ﬀ", "İstanbul", "xn--80ak6aa92e", "-", "a..b@example.com", "@", "person@localhost", "😀" * 60,
    "'; DROP TABLE accounts_user; --", "%00", "\u202egnp.exe", "owner", "ADMIN",
]  # fmt: skip
text = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(codec="utf-8"), max_size=300),
    st.emails().map(str),
)
FIELD_ERROR = re.compile(r'<ul class="errorlist(?: nonfield)?"')
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
ROLES = [role.value for role in Membership.Role]
counted: dict[str, int] = {}


def _count(name: str) -> None:
    counted[name] = counted.get(name, 0) + 1


def assert_form_answer(name: str, response: Any, *, accepted: Callable[[Any], bool]) -> bool:
    """A form POST: accepted (returns True), or the form shown again with every one of its
    errors in the HTML, in Django's error list; never a 5xx."""
    _count(name)
    assert response.status_code < 500, (name, response.status_code)
    if accepted(response):
        return True
    assert response.status_code in (200, 400), (name, response.status_code)
    form = response.context["form"] if response.context and "form" in response.context else None
    assert form is not None and form.errors, (name, response.status_code, "shown again without errors")
    html = response.content.decode()
    assert FIELD_ERROR.search(html), (name, "no error list in the page")
    for field, messages in form.errors.items():
        for message in messages:
            assert str(conditional_escape(message)) in html, (name, field, message, "not shown")
    return False


def assert_api_answer(name: str, response: Any, *, fields: set[str]) -> dict[str, Any] | None:
    """An API write: below 500; a refusal is a problem document; a 400 names its fields."""
    _count(name)
    assert response.status_code < 500, (name, response.status_code)
    if response.status_code < 400:
        return None
    assert response["Content-Type"].startswith(PROBLEM_CONTENT_TYPE), (name, response["Content-Type"])
    problem = response.json()
    assert set(problem) >= PROBLEM_KEYS, (name, problem)
    assert problem["status"] == response.status_code and problem["type"].endswith(problem["code"]), problem
    if response.status_code in (400, 422) and problem["code"] != "parse_error":
        assert problem["code"] == "validation_error", (name, problem)
        assert problem["errors"], (name, problem)
        for error in problem["errors"]:
            assert {"field", "code", "detail"} <= set(error), (name, problem)
            allowed = fields | {"non_field_errors"}
            assert error["field"] in allowed or error["field"].split(".")[0] in allowed, (name, error)
    return problem


@pytest.fixture(autouse=True, scope="module")
def examples_counted():
    yield
    print(f"\nbad input (examples per entry point): {counted}")


@pytest.fixture
def org(db):
    return make_org(objects_per_kind=1)


def _rendered(response: Any, template: str) -> bool:
    return any(used.name == template for used in response.templates)


def test_sign_up_form(db, settings):
    settings.ACCOUNT_RATE_LIMITS = False  # the limits are tested elsewhere; here every example is heard

    # Acceptable values are mixed in so that the accepted path is exercised too.
    @bounded
    @given(
        full_name=text,
        email=st.one_of(text, st.emails().map(str)),
        password=st.one_of(text, st.just("a-long-enough-passphrase-81")),
        organization_name=st.one_of(text, st.sampled_from(["Acme", "Initech Ltd"])),
        subdomain=st.one_of(text, st.just("")),
    )
    def signs_up(**fields: str) -> None:
        # A new browser each time: a signed-in one would only be sent to its organizations.
        client = Client(HTTP_HOST=settings.SAAS_BASE_DOMAIN)
        response = client.post("/signup/", fields)
        # Accepted: the hand-off page that takes the new owner to the new organization's host.
        if assert_form_answer(
            "sign-up", response, accepted=lambda r: _rendered(r, "accounts/handoff_continue.html")
        ):
            _count("sign-up accepted")
            assert User.objects.filter(email__iexact=fields["email"].strip()).exists()

    signs_up()


def test_invitation_form(org):
    client = logged_in(org)

    @bounded
    @given(email=text, role=st.one_of(text, st.sampled_from(ROLES)))
    def invites(email: str, role: str) -> None:
        response = client.post("/members/", {"email": email, "role": role})
        if assert_form_answer("invitation", response, accepted=lambda r: r.status_code == 302):
            _count("invitation accepted")

    invites()


def test_settings_and_profile_forms(org):
    client = logged_in(org)
    public = logged_in(org, host=settings.SAAS_BASE_DOMAIN)

    @bounded
    @given(name=text, full_name=text)
    def saves(name: str, full_name: str) -> None:
        response = client.post("/settings/", {"name": name})
        assert_form_answer("settings", response, accepted=lambda r: r.status_code == 302)
        response = public.post("/account/profile/", {"full_name": full_name})
        assert_form_answer("profile", response, accepted=lambda r: r.status_code == 302)

    saves()


def test_api_key_form(org):
    client = logged_in(org)

    @bounded
    @given(
        name=text,
        scopes=st.lists(st.one_of(st.sampled_from(SCOPES), text), max_size=4),
        expires_in_days=st.one_of(
            st.none(),
            st.integers(min_value=-5, max_value=4000).map(str),
            st.sampled_from(["1", "3650"]),
            text,
        ),
    )
    def creates(name: str, scopes: list[str], expires_in_days: str | None) -> None:
        data: dict[str, Any] = {"name": name, "scopes": scopes}
        if expires_in_days is not None:
            data["expires_in_days"] = expires_in_days
        keys_before = ApiKey.objects.filter(tenant=org.tenant).count()
        response = client.post("/api-keys/", data)
        # Accepted: the same page, 200, showing the new secret once.
        if not assert_form_answer(
            "api key", response, accepted=lambda r: r.status_code == 200 and bool(r.context["new_secret"])
        ):
            assert ApiKey.objects.filter(tenant=org.tenant).count() == keys_before
            return
        _count("api key accepted")
        made = ApiKey.objects.filter(tenant=org.tenant).order_by("-id").first()
        assert made is not None and ApiKey.objects.filter(tenant=org.tenant).count() == keys_before + 1
        assert response.context["new_secret"] in response.content.decode()
        assert made.name == name.strip() and made.scopes == sorted(set(scopes))
        assert made.created_by_id == org.owner.pk
        if expires_in_days:
            assert made.expires_at is not None
            days = (made.expires_at - timezone.now()).total_seconds() / 86400
            assert int(expires_in_days.strip()) - 1 < days <= int(expires_in_days.strip())
        else:
            assert made.expires_at is None

    creates()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
project_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "name": json_values,
            "description": json_values,
            "status": json_values,
            "owner": json_values,
        },
    ),
)


def _fields(payload: Any, known: set[str]) -> set[str]:
    """The fields a problem may name: the serializer's, and any key the body sent (unknown
    fields are refused by name)."""
    return known | (set(payload) if isinstance(payload, dict) else set())


def _send(client: Client, method: str, path: str, payload: Any, key: str) -> Any:
    return getattr(client, method)(
        path, json.dumps(payload), content_type="application/json", headers={"Authorization": f"Bearer {key}"}
    )


def test_api_write_bodies(org):
    client = Client(HTTP_HOST=org.host)
    project = org.ids["project"][0]

    @bounded
    @given(
        body=project_bodies,
        invitation=st.fixed_dictionaries({}, optional={"email": json_values, "role": json_values}),
    )
    def writes(body: Any, invitation: Any) -> None:
        for method, path, payload, known in (
            ("post", "/api/v1/projects/", body, {"name", "description", "status", "owner"}),
            ("patch", f"/api/v1/projects/{project}/", body, {"name", "description", "status", "owner"}),
            ("post", "/api/v1/invitations/", invitation, {"email", "role"}),
        ):
            response = _send(client, method, path, payload, org.key)
            assert_api_answer(f"api {method} {path.split('/')[3]}", response, fields=_fields(payload, known))

    writes()


def test_api_member_role_change(org):
    """PATCH /api/v1/members/<id>/ with any body, by an owner's key and an admin's, on any member:
    a 200 is the role asked for and stored; refusals are problems; there is always an owner."""
    admin = UserFactory.create(email=f"{org.marker}.admin@example.com")
    admin_membership = membership_create(user=admin, tenant=org.tenant, role="admin")
    with schema_context(org.tenant.schema_name):
        _, admin_key = api_key_create(tenant=org.tenant, actor=admin, name="admin key", scopes=list(SCOPES))
    others = [
        membership_create(user=UserFactory.create(), tenant=org.tenant, role=role).pk
        for role in ("member", "member", "admin")
    ]
    targets = [*org.ids["membership"], *others, admin_membership.pk, org.ids["own"][2], 0, 2**63, 99_999_999]
    members = set(Membership.objects.filter(tenant=org.tenant).values_list("pk", flat=True))
    client = Client(HTTP_HOST=org.host)
    keys = {"owner": org.key, "admin": admin_key}

    # The rules, each tried at least once: the only owner demoting themselves (409, never
    # ownerless), an admin giving a role above their own (a field error on role), a change.
    @example(body={"role": "admin"}, target=org.ids["own"][2], caller="owner")
    @example(body={"role": "owner"}, target=others[0], caller="admin")
    @example(body={"role": "admin"}, target=others[1], caller="owner")
    @bounded
    @given(
        body=st.one_of(
            json_values,
            st.fixed_dictionaries({"role": st.sampled_from(ROLES)}),
            st.fixed_dictionaries({}, optional={"role": st.one_of(st.sampled_from(ROLES), json_values)}),
        ),
        target=st.sampled_from(targets),
        caller=st.sampled_from(sorted(keys)),
    )
    def changes_role(body: Any, target: int, caller: str) -> None:
        response = _send(client, "patch", f"/api/v1/members/{target}/", body, keys[caller])
        problem = assert_api_answer("api member role", response, fields=_fields(body, {"role"}))
        if response.status_code == 409:
            assert problem and problem["code"] == "last_owner", problem
        if response.status_code == 200:
            _count("api member role changed")
            assert response.json()["role"] == body["role"]
            assert Membership.objects.get(pk=target).role == body["role"]
        if target not in members:
            assert response.status_code in (400, 404), response.status_code  # the body is read first
        else:
            assert response.status_code != 404, response.status_code
        assert Membership.objects.filter(tenant=org.tenant, role="owner").exists()

    changes_role()
