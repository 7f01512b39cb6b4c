"""Bad input everywhere (issue 17, part 6): Hypothesis drives the sign-up, invitation and
settings forms and the API's write endpoints with arbitrary text and JSON. Never a 5xx; a
refused form is a 400 whose errors sit on fields (or the form), a refused API body is a
problem document whose errors name their fields.

Schemathesis over the whole API against a live server is tests/e2e/test_api_live.py; bodies
over the limit are tests/e2e/test_body_limits.py; malformed Host headers through the real
servers are test_malformed_hosts.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

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
counted: dict[str, int] = {}


def assert_refused_on_fields(name: str, response: Any) -> None:
    counted[name] = counted.get(name, 0) + 1
    assert response.status_code < 500, (name, response.status_code)
    if response.status_code == 400:
        assert FIELD_ERROR.search(response.content.decode()), (name, "a 400 without a field error")


@pytest.fixture
def org(db):
    return make_org(objects_per_kind=1)


def test_sign_up_form(db, settings):
    settings.ACCOUNT_RATE_LIMITS = False  # the limits are tested elsewhere; here every example is heard
    client = Client(HTTP_HOST=settings.SAAS_BASE_DOMAIN)

    @bounded
    @given(full_name=text, email=text, password=text, organization_name=text, subdomain=text)
    def signs_up(**fields: str) -> None:
        response = client.post("/signup/", fields)
        assert_refused_on_fields("sign-up", response)
        assert response.status_code in (200, 302, 400), response.status_code

    signs_up()


def test_invitation_form(org):
    client = logged_in(org)

    @bounded
    @given(email=text, role=st.one_of(text, st.sampled_from(["owner", "admin", "member"])))
    def invites(email: str, role: str) -> None:
        response = client.post("/members/", {"email": email, "role": role})
        assert_refused_on_fields("invitation", response)
        assert response.status_code in (200, 302, 400), response.status_code

    invites()


def test_settings_and_profile_forms(org):
    client = logged_in(org)
    public = logged_in(org, host=settings.SAAS_BASE_DOMAIN)

    @bounded
    @given(name=text, full_name=text)
    def saves(name: str, full_name: str) -> None:
        response = client.post("/settings/", {"name": name})
        assert_refused_on_fields("settings", response)
        assert response.status_code in (302, 400), response.status_code
        response = public.post("/account/profile/", {"full_name": full_name})
        assert_refused_on_fields("profile", response)

    saves()


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


def test_api_write_bodies(org):
    client = Client(HTTP_HOST=org.host)
    headers = {"Authorization": f"Bearer {org.key}"}
    project = org.ids["project"][0]

    @bounded
    @given(
        body=project_bodies,
        invitation=st.fixed_dictionaries({}, optional={"email": json_values, "role": json_values}),
    )
    def writes(body: Any, invitation: Any) -> None:
        for method, path, payload in (
            ("post", "/api/v1/projects/", body),
            ("patch", f"/api/v1/projects/{project}/", body),
            ("post", "/api/v1/invitations/", invitation),
        ):
            response = getattr(client, method)(
                path, json.dumps(payload), content_type="application/json", headers=headers
            )
            counted["api"] = counted.get("api", 0) + 1
            assert response.status_code < 500, (path, payload, response.status_code)
            if response.status_code in (400, 422):
                problem = response.json()
                assert problem["status"] == response.status_code
                if problem["code"] in ("invalid", "validation_error"):
                    assert problem["errors"] and all("field" in error for error in problem["errors"]), problem

    writes()
    print(f"\nbad input: {counted}")
