"""The API through uvicorn as the Procfile runs it: concurrent idempotent POSTs, and schemathesis.

Schemathesis reads /api/schema/ from the live server and sends generated requests with a real
write key; every answer must be no 5xx and conform to the schema (status code, content type,
headers, body). Bounded: a few examples per operation, no shrinking, no example database.
"""

from __future__ import annotations

import threading
import uuid

import hypothesis
import pytest
import requests
import schemathesis
from django_tenants.utils import schema_context
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from accounts.services import membership_create
from api.services import api_key_create
from projects.models import Project
from projects.services import project_create
from tenants.models import Tenant
from tenants.services import tenant_provision

pytestmark = pytest.mark.e2e
EXAMPLES_PER_OPERATION = 6


@pytest.fixture
def e2e_env_overrides() -> dict[str, str | None]:
    # Schemathesis sends a few hundred requests; the limits themselves are tested elsewhere.
    return {"API_RATE_LIMIT_PER_CALLER": "100000/60", "API_RATE_LIMIT_PER_TENANT": "100000/60"}


def _organization() -> tuple[Tenant, User, str, str]:
    slug = f"api{uuid.uuid4().hex[:8]}"
    tenant = tenant_provision(name="Api Inc", slug=slug)
    owner = User.objects.create_user(f"owner-{slug}@example.com", "owner-passphrase-long-73")
    membership_create(user=owner, tenant=tenant, role="owner")
    _, secret = api_key_create(
        tenant=tenant,
        actor=owner,
        name="live",
        scopes=["members:read", "invitations:write", "projects:write", "notifications:write", "billing:read"],
    )
    return tenant, owner, secret, tenant.domains.get(is_primary=True).domain


def _session(host: str, secret: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"Host": host, "Authorization": f"Bearer {secret}"})
    return session


def test_ten_concurrent_identical_posts_run_once(e2e_env, asgi_server):
    tenant, _owner, secret, host = _organization()
    url = f"http://127.0.0.1:{asgi_server.port}/api/v1/projects/"
    start = threading.Barrier(10, timeout=10)
    answers: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def post() -> None:
        with _session(host, secret) as session:
            start.wait()
            response = session.post(
                url, json={"name": "Exactly once"}, headers={"Idempotency-Key": "same-for-all"}, timeout=30
            )
        with lock:
            answers.append((response.status_code, response.content))

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 10
    assert {status for status, _ in answers} == {201}, answers
    assert len({body for _, body in answers}) == 1
    with schema_context(tenant.schema_name):
        assert Project.objects.count() == 1


def test_schemathesis_against_the_live_schema(e2e_env, asgi_server):
    tenant, owner, secret, host = _organization()
    with schema_context(tenant.schema_name):
        for number in range(3):
            project_create(tenant=tenant, actor=owner, name=f"Seed {number}")
    base_url = f"http://127.0.0.1:{asgi_server.port}"
    session = _session(host, secret)
    raw = session.get(f"{base_url}/api/schema/", params={"format": "json"}, timeout=30)
    assert raw.status_code == 200, raw.content[:500]
    assert raw.json()["openapi"].startswith("3.1")
    schema = schemathesis.openapi.from_dict(raw.json())
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10
    statuses: list[int] = []
    for operation in operations:

        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def conforms(case) -> None:
            response = case.call(base_url=base_url, session=session, timeout=30)
            statuses.append(response.status_code)
            case.validate_response(response, checks=checks)

        conforms()
    assert len(statuses) >= 2 * len(operations)
    assert any(200 <= status < 300 for status in statuses) and any(status >= 400 for status in statuses)
