"""No secret from a URL or a secret-named field reaches a log line (issue 9, item 7).

Each token kind is obtained the way a user gets it (an invitation, a reset email, a sign-up's
confirmation key, a login or logout hand-off), used in a real request, and then searched for
in everything the request logged (the request line, Django's own warnings with their request
repr). tests/e2e/test_log_redaction.py does the same through uvicorn's output.
"""

import re
from urllib.parse import urlsplit

import pytest
import structlog
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.conf import settings
from django.core import mail
from django.test import Client

from accounts.services import login_handoff_create
from invitations.services import invitation_create
from invitations.tokens import token_for_salt
from saas.observability import REDACTED, redact_text
from tests.conftest import host_of, public_origin
from tests.saas.test_logging import log_lines  # noqa: F401 (a fixture)


@pytest.fixture
def public(db) -> Client:
    return Client(HTTP_HOST=settings.SAAS_BASE_DOMAIN)


def logged_paths(records: list[dict]) -> list[str]:
    return [r["path"] for r in records if r.get("message") == "request finished"]


def assert_secret_absent(records: list[dict], secret: str) -> None:
    assert records, "nothing was logged"
    assert secret not in repr(records), [r for r in records if secret in repr(r)]


def test_invitation_token(public, make_tenant, member_of, log_lines):  # noqa: F811
    tenant = make_tenant()
    invitation = invitation_create(
        tenant=tenant, inviter=member_of(tenant, role="owner"), email="new@example.com", role="member"
    )
    token = token_for_salt(invitation.token_salt)
    log_lines()

    assert public.get(f"/invitations/{token}/").status_code == 200

    records = log_lines()
    assert_secret_absent(records, token)
    assert logged_paths(records) == [f"/invitations/{REDACTED}/"]


def test_password_reset_key(public, user, log_lines):  # noqa: F811
    public.post("/password/reset/", {"email": user.email})
    link = re.search(r"https?://[^/\s]+(/password/reset/key/\S+/)", str(mail.outbox[0].body))
    assert link
    key = link.group(1).removeprefix("/password/reset/key/").strip("/")
    log_lines()

    page = public.get(link.group(1), follow=True)

    assert page.status_code == 200
    records = log_lines()
    assert_secret_absent(records, key)
    assert_secret_absent(records, key.partition("-")[2])  # the key without its user id part
    assert logged_paths(records) == [f"/password/reset/key/{REDACTED}/"] * 2  # the link, then set-password


def test_email_confirmation_key(public, user, log_lines):  # noqa: F811
    address = EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    key = EmailConfirmationHMAC(address).key
    log_lines()

    assert public.get(f"/confirm-email/{key}/").status_code == 200

    records = log_lines()
    assert_secret_absent(records, key)
    assert logged_paths(records) == [f"/confirm-email/{REDACTED}/"]


def test_login_and_logout_handoff_tokens(tenant, member_of, log_lines):  # noqa: F811
    member = member_of(tenant)
    token = login_handoff_create(user=member, tenant=tenant)
    on_tenant = Client(HTTP_HOST=host_of(tenant))
    log_lines()

    # The hand-off token travels in a POST body (never logged); the logout link's is in its path.
    assert on_tenant.post("/auth/handoff/", {"token": token}, HTTP_ORIGIN=public_origin()).status_code == 302
    logout = on_tenant.post("/auth/logout/")
    logout_path = urlsplit(logout["Location"]).path
    logout_token = logout_path.removeprefix("/auth/logout/").strip("/")
    Client(HTTP_HOST=settings.SAAS_BASE_DOMAIN).get(logout_path)

    records = log_lines()
    assert len(logout_token) > 20
    assert_secret_absent(records, token)
    assert_secret_absent(records, logout_token)
    assert logged_paths(records) == [
        "/auth/handoff/",
        "/auth/logout/",
        f"/auth/logout/{REDACTED}/",
    ]


def test_secret_named_query_values_in_django_request_lines(public, log_lines):  # noqa: F811
    secrets = {"token": "tok-111", "reset_key": "key-222", "code": "code-333", "password": "pw-444"}
    query = "&".join(f"{name}={value}" for name, value in secrets.items())

    assert public.get(f"/no/such/page/?next=/orgs/&{query}").status_code == 404

    records = log_lines()
    for value in secrets.values():
        assert_secret_absent(records, value)
    warning = next(r for r in records if r["logger"] == "django.request")
    assert f"token={REDACTED}" in warning["request"] and "next=/orgs/" in warning["request"]


def test_secret_named_structured_fields(db, log_lines):  # noqa: F811
    structlog.get_logger("tests.redaction").info(
        "outgoing call",
        password="hunter2-pw",
        api_key="ak-123",
        headers={"Authorization": "Bearer bt-456", "Cookie": "sessionid=sid-789", "Accept": "text/html"},
        url="https://example.com/invitations/inv-000/?secret=s-000",
        attempts=3,
    )

    [record] = [r for r in log_lines() if r["logger"] == "tests.redaction"]
    for secret in ("hunter2-pw", "ak-123", "bt-456", "sid-789", "inv-000", "s-000"):
        assert secret not in repr(record)
    assert record["headers"] == {"Authorization": REDACTED, "Cookie": REDACTED, "Accept": "text/html"}
    assert (record["password"], record["attempts"]) == (REDACTED, 3)


@pytest.mark.parametrize(
    "kept",
    ["/members/invitations/12/revoke/", "/orgs/acme/open/?next=/x&page=2", "GET / 200", "state=ok"],
)
def test_text_without_secrets_is_left_alone(kept):
    assert redact_text(kept) == kept


API_KEY = "sk_abcd1234_" + "Z" * 43
STRIPE_EVENT = {
    "id": "evt_1",
    "object": "event",
    "livemode": False,
    "data": {"object": {"object": "customer", "email": "payer@example.com", "livemode": False}},
}


@pytest.mark.parametrize(
    ("kind", "fields", "secret"),
    [
        ("password", {"password": "pw-kind-1"}, "pw-kind-1"),
        ("password in a form", {"form": {"old_password": "pw-kind-2", "email": "a@b.c"}}, "pw-kind-2"),
        ("token", {"reset_token": "tok-kind-1"}, "tok-kind-1"),
        ("token in a URL", {"url": "https://x.test/handoff/tok-kind-2/"}, "tok-kind-2"),
        ("API key field", {"api_key": "key-kind-1"}, "key-kind-1"),
        ("secret key field", {"secret_key": "key-kind-2"}, "key-kind-2"),
        ("our API key in text", {"note": f"created {API_KEY} for the CI"}, API_KEY),
        (
            "Stripe secret key in text",
            {"error": "No such key sk_live_51AbCdEfGhIjKl"},
            "sk_live_51AbCdEfGhIjKl",
        ),
        ("Stripe webhook secret", {"detail": "signed with whsec_abcdef123456"}, "whsec_abcdef123456"),
        ("cookie header", {"headers": {"Cookie": "sessionid=ck-kind-1"}}, "ck-kind-1"),
        ("cookie in text", {"raw": "Cookie: csrftoken=ck-kind-2; sessionid=ck-kind-3"}, "ck-kind-3"),
        (
            "Authorization header",
            {"headers": {"authorization": "Basic YWxhZGRpbjpvcGVu"}},
            "YWxhZGRpbjpvcGVu",
        ),
        ("bearer in text", {"sent": "Authorization: Bearer bearer-kind-12345"}, "bearer-kind-12345"),
        ("Stripe payload field", {"stripe_payload": {"card": "4242"}}, "4242"),
        ("Stripe event object", {"event_data": STRIPE_EVENT}, "payer@example.com"),
        ("email body", {"body": "Your code is 123456"}, "123456"),
        ("email HTML body", {"html": "<p>Reset: /password/reset/key/abc/</p>"}, "<p>Reset"),
        (
            "session cache key",
            {"command": "GET saas:1:django.contrib.sessions.cached_dbab12cd34"},
            "ab12cd34",
        ),
    ],
)
def test_each_secret_kind_is_removed_from_a_line(db, log_lines, kind, fields, secret):  # noqa: F811
    structlog.get_logger("tests.redaction").info("a line with a secret", **fields)

    [record] = [r for r in log_lines() if r["logger"] == "tests.redaction"]
    assert secret not in repr(record), (kind, record)
    assert REDACTED in repr(record), kind


def test_a_secret_in_an_exception_message_is_removed(db, log_lines):  # noqa: F811
    try:
        raise ValueError(f"request to /invitations/exc-tok-1/ failed with {API_KEY}")
    except ValueError:
        structlog.get_logger("tests.redaction").exception("call failed")

    [record] = [r for r in log_lines() if r["logger"] == "tests.redaction"]
    assert "exc-tok-1" not in repr(record) and API_KEY not in repr(record)
    assert record["exception"][0]["exc_type"] == "ValueError"
