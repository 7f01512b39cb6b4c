"""Host -> tenant: subdomains, custom domains, unknown and malformed hosts, cache and cost."""

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from devtools.processes import free_port
from tenants.models import Domain
from tenants.resolution import TenantResolver
from tenants.services import domain_create
from tests.conftest import host_of
from tests.tenants.wire import queries_sent

UNKNOWN_HOST_TEXT = b"No organization here"


def test_known_subdomain_routes_to_its_tenant(tenant, member_of):
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(member_of(tenant))
    response = client.get("/")
    assert response.status_code == 200
    assert response.wsgi_request.tenant == tenant  # type: ignore[attr-defined]
    assert f"<h1>{tenant.name}</h1>".encode() in response.content


def test_subdomain_with_port_and_other_case_routes_to_its_tenant(tenant, member_of):
    client = Client(HTTP_HOST=host_of(tenant).upper() + ":8000")
    client.force_login(member_of(tenant))
    response = client.get("/")
    assert response.status_code == 200
    assert response.wsgi_request.tenant == tenant  # type: ignore[attr-defined]


def test_custom_domain_routes_to_its_tenant(make_tenant, member_of):
    tenant = make_tenant(custom_domain="intranet.customer.example")
    client = Client(HTTP_HOST="intranet.customer.example")
    client.force_login(member_of(tenant))
    response = client.get("/")
    assert response.status_code == 200
    assert f"<h1>{tenant.name}</h1>".encode() in response.content


def test_anonymous_visitor_of_a_tenant_is_sent_to_the_public_login(tenant):
    response = Client(HTTP_HOST=host_of(tenant)).get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"http://{settings.SAAS_BASE_DOMAIN}")
    assert "/login/" in response["Location"]


@pytest.mark.parametrize(
    "host",
    [
        f"nobody.{settings.SAAS_BASE_DOMAIN}",
        "unknown.example.com",
        f"deeper.org1.{settings.SAAS_BASE_DOMAIN}",
    ],
)
def test_unknown_host_gets_the_styled_404_page(tenant, host):
    response = Client(HTTP_HOST=host).get("/")
    assert response.status_code == 404
    assert UNKNOWN_HOST_TEXT in response.content
    assert host.encode() in response.content
    assert not hasattr(response.wsgi_request, "tenant")


@pytest.mark.parametrize(
    "host", ["bad host", "evil.example.com@other", "[not-ipv6", "exa_mple..com", "a" * 300]
)
def test_malformed_host_gets_the_404_page_and_no_data(db, host):
    response = Client(HTTP_HOST=host).get("/")
    assert response.status_code == 404
    assert UNKNOWN_HOST_TEXT in response.content


def test_unknown_paths_on_unknown_hosts_get_the_same_page(db):
    response = Client(HTTP_HOST="nobody.example.com").get("/admin/")
    assert response.status_code == 404
    assert UNKNOWN_HOST_TEXT in response.content


def test_public_host_serves_the_landing_page(tenant):
    for host in (settings.SAAS_BASE_DOMAIN, f"www.{settings.SAAS_BASE_DOMAIN}"):
        response = Client(HTTP_HOST=host).get("/")
        assert response.status_code == 200
        assert b"isolated by design" in response.content and b"Pricing" in response.content
        assert response.wsgi_request.tenant is None  # type: ignore[attr-defined]


def test_public_urls_are_not_served_on_tenant_hosts(tenant):
    response = Client(HTTP_HOST=host_of(tenant)).get("/admin/")
    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_domain_added_or_deleted_in_a_committed_transaction_is_seen_at_once(committed_tenant):
    tenant = committed_tenant()
    client = Client(HTTP_HOST="late.customer.example")
    assert client.get("/").status_code == 404  # the miss is cached, too

    with transaction.atomic():
        domain = domain_create(tenant=tenant, domain="late.customer.example")
    response = client.get("/")
    assert response.status_code == 302  # the tenant's login redirect, not the 404 page
    assert response.wsgi_request.tenant == tenant  # type: ignore[attr-defined]

    with transaction.atomic():
        domain.delete()
    response = client.get("/")
    assert response.status_code == 404
    assert UNKNOWN_HOST_TEXT in response.content


@pytest.mark.django_db(transaction=True)
def test_other_processes_see_a_domain_change_within_the_recheck_interval(committed_tenant, settings):
    """Another process's resolver (its own instance) drops its map when the generation moves."""
    tenant = committed_tenant()
    other_process = TenantResolver()
    assert other_process.resolve("moved.customer.example") is None

    with transaction.atomic():
        domain_create(tenant=tenant, domain="moved.customer.example")

    settings.TENANT_RESOLUTION_RECHECK_SECONDS = 3600
    assert other_process.resolve("moved.customer.example") is None  # still within its interval
    settings.TENANT_RESOLUTION_RECHECK_SECONDS = 0
    assert other_process.resolve("moved.customer.example") == tenant


@pytest.fixture
def no_recheck(settings):
    """No generation check (one Redis read per interval) inside the measured requests."""
    settings.TENANT_RESOLUTION_RECHECK_SECONDS = 3600


def host_lookups(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if '"tenants_domain"."domain" =' in q["sql"]]


def search_path_changes(sent: list[str]) -> list[str]:
    """The `SET search_path = ...; ` at the head of queries sent to PostgreSQL."""
    return [query[: query.index("; ") + 2] for query in sent if query.startswith("SET search_path")]


def test_warm_resolution_costs_no_query(
    tenant, django_assert_max_num_queries, django_assert_num_queries, no_recheck
):
    client = Client(HTTP_HOST=host_of(tenant))
    with django_assert_max_num_queries(2) as cold:  # the Domain lookup, once per process
        assert client.get("/").status_code == 302
    assert len(host_lookups(cold)) == 1
    # An anonymous visitor's dashboard runs no query of its own: all a request would spend
    # here is routing's, and routing spends nothing once the host is known.
    with django_assert_num_queries(0):
        assert client.get("/").status_code == 302
        assert client.get("/").status_code == 302


def test_unknown_hosts_are_remembered_too(
    db, django_assert_max_num_queries, django_assert_num_queries, no_recheck
):
    client = Client(HTTP_HOST="nobody.example.com")
    with django_assert_max_num_queries(2) as cold:
        assert client.get("/").status_code == 404
    assert len(host_lookups(cold)) == 1
    with django_assert_num_queries(0):
        assert client.get("/").status_code == 404


# What the dashboard itself reads for a member: user, membership, the organization switcher
# (memberships + their domains), the member list, the billing row (the plan, read fresh: the
# cached Tenant carries none), notifications, recent activity, the shell's notification
# bell (the unread count) and a pending deletion of the organization (its banner). Routing
# adds nothing.
DASHBOARD_QUERIES = 10


def test_warm_dashboard_spends_queries_on_its_own_data_only(
    tenant, member_of, django_assert_max_num_queries, no_recheck
):
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(member_of(tenant))
    assert client.get("/").status_code == 200  # warms the resolver, the session cache, the path

    with django_assert_max_num_queries(DASHBOARD_QUERIES) as warm, queries_sent(connection) as sent:
        assert client.get("/").status_code == 200
    assert host_lookups(warm) == []
    assert search_path_changes(sent) == []


def test_moving_between_tenants_sets_the_search_path_once_per_move(
    make_tenant, member_of, django_assert_max_num_queries, no_recheck
):
    first, second = make_tenant(), make_tenant()
    person = member_of(first)
    member_of(second, user=person)
    clients = {}
    for tenant in (first, second):
        clients[tenant] = Client(HTTP_HOST=host_of(tenant))
        clients[tenant].force_login(person)
        assert clients[tenant].get("/").status_code == 200  # warm resolver and session caches

    def search_paths_set_by_a_request_to(tenant) -> list[str]:
        # The move costs no query of its own: the SET travels with the request's first one.
        with django_assert_max_num_queries(DASHBOARD_QUERIES) as captured, queries_sent(connection) as sent:
            assert clients[tenant].get("/").status_code == 200
        assert host_lookups(captured) == []
        assert len(sent) == len(captured)
        return search_path_changes(sent)

    def set_path(tenant) -> str:
        return f'SET search_path = "{tenant.schema_name}", "public"; '

    assert search_paths_set_by_a_request_to(first) == [set_path(first)]
    assert search_paths_set_by_a_request_to(first) == []
    assert search_paths_set_by_a_request_to(second) == [set_path(second)]
    assert search_paths_set_by_a_request_to(second) == []


def unreachable_redis(settings) -> None:
    location = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {alias: {**config, "LOCATION": location} for alias, config in settings.CACHES.items()}


def test_tenant_hosts_still_resolve_while_redis_is_down(tenant, settings):
    """Sessions fall back to the database when Redis is down; routing must not be what fails."""
    client = Client(HTTP_HOST=host_of(tenant))
    assert client.get("/").status_code == 302  # known before the outage
    unreachable_redis(settings)
    settings.TENANT_RESOLUTION_RECHECK_SECONDS = 0  # every request tries to read the generation
    assert client.get("/").status_code == 302
    other = Client(HTTP_HOST=host_of(tenant).replace(tenant.slug, "nobody"))
    assert other.get("/").status_code == 404  # and unknown hosts are still refused


@pytest.mark.django_db(transaction=True)
def test_domain_change_while_redis_is_down_commits_and_is_seen_here(committed_tenant, settings):
    tenant = committed_tenant()
    client = Client(HTTP_HOST="outage.customer.example")
    assert client.get("/").status_code == 404
    unreachable_redis(settings)
    with transaction.atomic():
        domain_create(tenant=tenant, domain="outage.customer.example")  # no error after commit
    assert Domain.objects.filter(domain="outage.customer.example").exists()
    assert client.get("/").status_code == 302
