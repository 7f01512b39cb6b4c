"""accounts.services.user_sign_up: one transaction, field-level errors, nothing half-made."""

import threading
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django_tenants.utils import schema_context, schema_exists

from accounts.models import Membership, User
from accounts.services import SignUp, slug_from_name, user_sign_up
from activity.models import AuditEvent
from saas.models import OutboxEvent
from tenants.models import Domain, Tenant
from tests.accounts.conftest import STRONG_PASSWORD

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int, int, int]:
    return (
        User.objects.count(),
        Tenant.objects.count(),
        Domain.objects.count(),
        Membership.objects.count(),
        OutboxEvent.objects.count(),
    )


def sign_up(unique_word: str, **overrides: Any) -> SignUp:
    kwargs: dict[str, Any] = {
        "email": f"{unique_word}@example.com",
        "password": STRONG_PASSWORD,
        "organization_name": f"Org {unique_word}",
        "subdomain": None,
    }
    kwargs.update(overrides)
    return user_sign_up(**kwargs)


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def test_sign_up_makes_everything_in_one_go(unique, django_capture_on_commit_callbacks):
    word = unique("acme")
    with django_capture_on_commit_callbacks() as callbacks:
        result = sign_up(
            word, email=f"  {word.upper()}@Example.COM ", organization_name="Acme & Co.", subdomain=word
        )
    user, tenant = result.user, result.tenant
    assert user.email == f"{word}@example.com"
    assert user.password.startswith("argon2$")
    assert user.check_password(STRONG_PASSWORD)
    assert tenant.slug == word and tenant.name == "Acme & Co."
    assert schema_exists(tenant.schema_name)
    assert Domain.objects.get(tenant=tenant, is_primary=True).domain == f"{word}.localhost"
    assert result.membership.role == Membership.Role.OWNER
    event = OutboxEvent.objects.get(name="user.signed_up", payload__user_id=user.pk)
    assert event.payload == {"user_id": user.pk, "tenant_id": tenant.pk}
    assert event.tenant_schema == tenant.schema_name
    assert event.state == OutboxEvent.State.PENDING  # nothing leaves before commit
    assert [c for c in callbacks if "publish" in c.__qualname__]  # dispatch waits for commit
    with schema_context(tenant.schema_name):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert actions >= {"tenant.provisioned", "member.added"}


def test_subdomain_is_derived_from_the_name_and_suffixed_when_taken(unique):
    name = f"Café Ünïcode {unique('n')}!"
    first = sign_up(unique("a"), organization_name=name)
    assert first.tenant.slug == slug_from_name(name)
    assert first.tenant.slug.startswith("cafe-unicode-")
    second = sign_up(unique("b"), organization_name=name)
    assert second.tenant.slug.startswith(first.tenant.slug + "-")
    assert second.tenant.slug != first.tenant.slug


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Acme", "acme"), ("  Big--Corp  ", "big-corp"), ("Admin", "admin-org"), ("!!!", "org"), ("X", "x-org")],
)
def test_slug_from_name(name, slug):
    assert slug_from_name(name) == slug


def test_email_already_registered_in_any_case(unique):
    word = unique("dup")
    sign_up(word)
    before = counts()
    with pytest.raises(ValidationError) as excinfo:
        sign_up(unique("other"), email=f"{word.upper()}@EXAMPLE.com")
    assert errors_of(excinfo) == {"email": ["An account with this email address already exists."]}
    assert counts() == before


@pytest.mark.parametrize(
    ("subdomain", "message"),
    [
        ("admin", "reserved"),
        ("-bad", "lowercase letters"),
        ("has space", "lowercase letters"),
        ("a--b", "two hyphens"),
        ("x" * 41, "at most 40"),
    ],
)
def test_bad_subdomains_are_refused_with_a_field_message(unique, subdomain, message):
    before = counts()
    with pytest.raises(ValidationError) as excinfo:
        sign_up(unique("s"), subdomain=subdomain)
    assert list(errors_of(excinfo)) == ["subdomain"]
    assert message in " ".join(errors_of(excinfo)["subdomain"])
    assert counts() == before


def test_taken_subdomain(unique):
    word = unique("taken")
    sign_up(unique("first"), subdomain=word)
    before = counts()
    with pytest.raises(ValidationError) as excinfo:
        sign_up(unique("second"), subdomain=word.upper())
    assert errors_of(excinfo) == {"subdomain": ["This subdomain is already taken."]}
    assert counts() == before


@pytest.mark.parametrize("password", ["short", "password123", "12345678901", "PERSONAL-{word}"])
def test_weak_password(unique, password):
    word = unique("pw")
    before = counts()
    with pytest.raises(ValidationError) as excinfo:
        sign_up(word, password=password.replace("{word}", word))
    assert list(errors_of(excinfo)) == ["password"]
    assert counts() == before


def test_missing_fields_are_each_reported(unique):
    before = counts()
    with pytest.raises(ValidationError) as excinfo:
        user_sign_up(email="", password="", organization_name="  ")
    assert set(errors_of(excinfo)) == {"email", "password", "organization_name"}
    assert counts() == before


def test_provisioning_failure_leaves_nothing_behind(unique, django_capture_on_commit_callbacks):
    """A bare schema with the tenant's schema name makes the real CREATE SCHEMA fail."""
    word = unique("left")
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "t_{word}"')
    before = counts()
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValidationError) as excinfo:
        sign_up(word, subdomain=word)
    assert errors_of(excinfo) == {
        "subdomain": ["We could not create a workspace with this subdomain. Choose another one."]
    }
    assert counts() == before
    assert not User.objects.filter(email=f"{word}@example.com").exists()
    assert callbacks == []
    with connection.cursor() as cursor:  # the leftover schema is untouched, still empty
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [f"t_{word}"])
        assert cursor.fetchone()[0] == 0


def test_derived_subdomain_skips_a_leftover_schema(unique):
    word = unique("derived")
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "t_{word}"')
    result = sign_up(unique("u"), organization_name=word)
    assert result.tenant.slug.startswith(f"{word}-")


def test_rollback_of_the_callers_transaction_publishes_nothing(unique, django_capture_on_commit_callbacks):
    before = counts()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        sign_up(unique("rb"))
        raise RuntimeError("a later step failed")
    assert callbacks == []
    assert counts() == before


@pytest.mark.django_db(transaction=True)
def test_the_same_form_twice_at_once_makes_one_tenant(unique, drop_new_tenant_schemas):
    word = unique("twice")
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def submit() -> None:
        barrier.wait()
        try:
            outcomes.append(sign_up(word, organization_name="Twice Inc"))
        except ValidationError as error:
            outcomes.append(error.message_dict)
        except Exception as error:  # shown in the assertion below rather than lost in a thread
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2, outcomes
    assert {"email": ["An account with this email address already exists."]} in outcomes
    assert User.objects.filter(email=f"{word}@example.com").count() == 1
    assert Tenant.objects.filter(name="Twice Inc").count() == 1
    assert OutboxEvent.objects.filter(name="user.signed_up").count() == 1
