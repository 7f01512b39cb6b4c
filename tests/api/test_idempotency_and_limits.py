"""Idempotency-Key (replay, reuse 422, release after errors) and the atomic rate limits."""

from __future__ import annotations

import json
import threading

import pytest
from django_tenants.utils import schema_context

from api.ratelimits import rate_limit_hit
from api.redis_client import api_redis
from projects.models import Project
from tests.api.conftest import Api, problem_of
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


def projects_in(tenant) -> int:
    with schema_context(tenant.schema_name):
        return Project.objects.count()


def test_same_key_and_body_replays_the_first_response(api, tenant):
    first = api.post("/api/v1/projects/", {"name": "Once", "status": "active"}, **{"Idempotency-Key": "k-1"})
    # The same JSON with another key order and spacing is the same request.
    again = api.post(
        "/api/v1/projects/", raw=b'{ "status": "active",  "name": "Once" }', **{"Idempotency-Key": "k-1"}
    )
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert again["Idempotent-Replayed"] == "true" and again["Location"] == first["Location"]
    assert again["ETag"] == first["ETag"]
    assert projects_in(tenant) == 1
    assert api.post("/api/v1/projects/", {"name": "Once", "status": "active"}).status_code == 201
    assert projects_in(tenant) == 2  # without a key every POST runs


def test_same_key_different_body_is_422(api, tenant):
    assert api.post("/api/v1/projects/", {"name": "A"}, **{"Idempotency-Key": "k-2"}).status_code == 201
    reused = api.post("/api/v1/projects/", {"name": "B"}, **{"Idempotency-Key": "k-2"})
    assert reused.status_code == 422 and problem_of(reused)["code"] == "idempotency_key_reused"
    other_path = api.post("/api/v1/invitations/", {"name": "A"}, **{"Idempotency-Key": "k-2"})
    assert other_path.status_code == 422
    assert projects_in(tenant) == 1


def test_keys_are_per_caller(api, tenant, make_key):
    other = Api(host_of(tenant), make_key("projects:write"))
    assert api.post("/api/v1/projects/", {"name": "A"}, **{"Idempotency-Key": "shared"}).status_code == 201
    mine = other.post("/api/v1/projects/", {"name": "A"}, **{"Idempotency-Key": "shared"})
    assert mine.status_code == 201 and not mine.has_header("Idempotent-Replayed")
    assert projects_in(tenant) == 2


def test_refusals_before_running_store_nothing_and_validation_errors_replay(tenant, make_key, api):
    reader = Api(host_of(tenant), make_key("projects:read"))
    assert reader.post("/api/v1/projects/", {"name": "A"}, **{"Idempotency-Key": "k-3"}).status_code == 403
    assert api.post("/api/v1/projects/", {"name": "A"}, **{"Idempotency-Key": "k-3"}).status_code == 201
    bad = api.post("/api/v1/projects/", {"name": ""}, **{"Idempotency-Key": "k-4"})
    replay = api.post("/api/v1/projects/", {"name": ""}, **{"Idempotency-Key": "k-4"})
    assert bad.status_code == replay.status_code == 400 and bad.content == replay.content
    long_key = api.post("/api/v1/projects/", {"name": "A"}, **{"Idempotency-Key": "x" * 256})
    assert problem_of(long_key)["errors"][0]["field"] == "Idempotency-Key"


def test_a_duplicate_of_an_in_flight_request_waits_then_409(api, tenant, settings):
    settings.API_IDEMPOTENCY_WAIT_SECONDS = 0.2
    first = api.post("/api/v1/projects/", {"name": "A"}, **{"Idempotency-Key": "k-5"})
    assert first.status_code == 201
    # Turn the stored record back into an in-flight one, as a slow first request would look.
    client = api_redis()
    (redis_key,) = list(client.scan_iter("api:idem:*"))
    fingerprint = json.loads(client.get(redis_key) or b"{}")["fingerprint"]
    client.set(redis_key, json.dumps({"state": "running", "fingerprint": fingerprint, "lease": "x"}))
    waiting = api.post("/api/v1/projects/", {"name": "A"}, **{"Idempotency-Key": "k-5"})
    assert waiting.status_code == 409 and problem_of(waiting)["code"] == "idempotency_in_flight"
    assert projects_in(tenant) == 1


def test_rate_limit_headers_and_429(api, settings):
    settings.API_RATE_LIMIT_PER_CALLER = "3/60"
    answers = [api.get("/api/v1/projects/") for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [answer["RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
    assert answers[0]["RateLimit-Limit"] == "3"
    refused = problem_of(answers[3])
    assert refused["code"] == "throttled" and 1 <= int(answers[3]["Retry-After"]) <= 60


def test_rate_limit_per_organization_spans_keys(tenant, make_key, settings):
    settings.API_RATE_LIMIT_PER_TENANT = "2/60"
    first, second = (
        Api(host_of(tenant), make_key("projects:read")),
        Api(host_of(tenant), make_key("projects:read")),
    )
    assert first.get("/api/v1/projects/").status_code == 200
    assert second.get("/api/v1/projects/").status_code == 200
    assert first.get("/api/v1/projects/").status_code == 429


def test_rate_limit_counting_is_atomic_under_threads(settings):
    """40 threads hit a limit of 25 at once: exactly 25 pass (DRF's throttles let more through)."""
    settings.API_RATE_LIMIT_PER_CALLER = "25/60"
    settings.API_RATE_LIMIT_PER_TENANT = "1000/60"
    barrier = threading.Barrier(40, timeout=10)
    passed: list[bool] = []

    def hit() -> None:
        barrier.wait()
        limit = rate_limit_hit(caller="key:atomic", tenant_schema="t_atomic")
        passed.append(limit is not None and not limit.exceeded)

    threads = [threading.Thread(target=hit) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(passed) == 40 and passed.count(True) == 25
