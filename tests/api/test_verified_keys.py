"""A key accepted once is remembered per process (api.verified_keys), and every change that can
refuse it or lower what it may do is seen at the very next request, whichever process made it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from api.models import ApiKey
from api.redis_client import api_redis
from api.services import api_key_revoke
from api.verified_keys import generation_key, key_generations_replace
from tests.api.conftest import Api, problem_of
from tests.conftest import host_of

pytestmark = pytest.mark.django_db

PROJECTS = "/api/v1/projects/"


@pytest.fixture
def remembered(tenant, make_key) -> Api:
    """A read key used once (so remembered, its last use stamped)."""
    api = Api(host_of(tenant), make_key("projects:read", "invitations:write"))
    assert api.get(PROJECTS).status_code == 200
    return api


def test_a_remembered_key_costs_no_query(remembered, django_assert_num_queries):
    with django_assert_num_queries(1):  # the page only
        response = remembered.get(PROJECTS)
    # Counted once (the remembered key's check and the counters share one Redis script call).
    assert response.status_code == 200 and response["RateLimit-Remaining"] == "598"


def test_revoking_is_seen_at_the_next_request(remembered, tenant, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(api_key=ApiKey.objects.get(tenant=tenant), actor=owner)
    response = remembered.get(PROJECTS)
    assert response.status_code == 401 and problem_of(response)["code"] == "key_revoked"


def test_a_change_committed_by_another_process_is_seen_at_the_next_request(remembered, tenant):
    # Another process's commit: the row changes under this process, then that process
    # replaces the organization's key generation (what api/receivers.py does on commit).
    ApiKey.objects.filter(tenant=tenant).update(revoked_at=timezone.now())
    key_generations_replace([tenant.pk])
    response = remembered.get(PROJECTS)
    assert response.status_code == 401 and problem_of(response)["code"] == "key_revoked"


def test_a_deactivated_creator_is_seen_at_the_next_request(
    remembered, owner, django_capture_on_commit_callbacks
):
    owner.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        owner.save()
    assert problem_of(remembered.get(PROJECTS))["code"] == "key_orphaned"


def test_a_redis_that_lost_its_data_makes_every_key_looked_up_again(
    remembered, tenant, django_assert_num_queries
):
    api_redis().delete(generation_key(tenant.pk))  # as after a restart without persistence
    with django_assert_num_queries(2):  # the key, then the page
        assert remembered.get(PROJECTS).status_code == 200
    with django_assert_num_queries(1):  # remembered again, under the new generation
        assert remembered.get(PROJECTS).status_code == 200


def test_a_change_without_the_models_signals_is_seen_after_the_cache_seconds(remembered, tenant, settings):
    # QuerySet.update() sends no signal: the key stays remembered (this is the documented limit) ...
    ApiKey.objects.filter(tenant=tenant).update(revoked_at=timezone.now())
    assert remembered.get(PROJECTS).status_code == 200
    # ... until it is API_KEY_CACHE_SECONDS old (0 here: every key is looked up every time).
    settings.API_KEY_CACHE_SECONDS = 0
    assert problem_of(remembered.get(PROJECTS))["code"] == "key_revoked"
