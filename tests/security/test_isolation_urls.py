"""Every URL of both URLconfs, enumerated from the resolvers, against another organization.

A is the caller, B the target (tests/security/isolation.py). For each route, each of B's ids
and B's slug in its parameters, GET and POST (and PATCH, PUT, DELETE on the API):

- on B's host: anonymous; A's owner with the session A's host issued (replayed on B's host);
  A's owner with a session B's host issued (a signed-in non-member); A's API key;
- on A's host: A's owner's session and A's key, with B's ids, and (GET) every page and API list
  of A's that takes no id;
- on the public host: anonymous and A's owner, with B's ids and slug.

Never B's marker in a response, never a 5xx, and on a tenant host the status is a refusal
(a redirect to log in, 400, 401, 403, 404, 405) unless the route is in PUBLIC_ON_TENANT_HOSTS
below, with its reason. Anonymous visitors get the login redirect (the API: 401) on both kinds
of host, unless the route is listed, with its reason, in ANONYMOUS_ANSWERS (tenant hosts) or
ANONYMOUS_ANSWERS_ON_PUBLIC (the public host's pages for people not signed in). Afterwards B's
data is exactly what it was.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import Resolver404, resolve

from images.models import Avatar, Logo
from tests.security.isolation import (
    Org,
    Route,
    fingerprint,
    leaks,
    logged_in,
    make_world,
    paths_with_ids_of,
    routes,
)

pytestmark = pytest.mark.django_db

TENANT_URLS = settings.ROOT_URLCONF
PUBLIC_URLS = settings.PUBLIC_SCHEMA_URLCONF

# Tenant-host routes that answer 200 to someone who is not a member, and why that is right.
# (They are still swept: B's marker must not be in them.)
PUBLIC_ON_TENANT_HOSTS: dict[str, str] = {
    "api-schema": "the OpenAPI document describes the API, the same for every organization",
    "api-docs": "Swagger UI: static page that loads the schema",
    "api-redoc": "ReDoc: static page that loads the schema",
    "login_handoff": "the hand-off page a browser posts a token from; it shows no tenant data",
}

# Routes that answer 5xx on purpose, and why.
DELIBERATE_5XX: dict[str, str] = {
    "stripe_webhook": "503 while no webhook secret is configured (tests): Stripe retries later",
}

REFUSED = {301, 302, 303, 400, 401, 403, 404, 405}

# Anonymous visitors get exactly one answer: pages send them to log in (302 to the login page),
# the API asks for credentials (401); a method the route does not serve is a 405 before
# anything else (it says nothing about the organization). Routes that answer otherwise, and why.
ANONYMOUS_ANSWERS: dict[str, tuple[set[int], str]] = {
    "api/^.*$": ({404}, "the API's catch-all: an unknown path is a problem-format 404 for anyone"),
    "tenant_logout": ({302}, "logging out someone who is not logged in sends them to the home page"),
}


# The same on the public host, where the pages for people who are not signed in live: every
# other route sends them to log in (the admin's to its own login page).
ANONYMOUS_ANSWERS_ON_PUBLIC: dict[str, tuple[set[int], str]] = {
    "landing": ({200}, "the product's home page"),
    "signup": ({200, 400}, "the sign-up form; an empty POST gets field errors"),
    "account_signup": ({200, 400}, "allauth's sign-up URL, the same form"),
    "account_login": ({200, 400}, "the login form; a POST without its fields gets field errors"),
    "account_reset_password": ({200, 400}, "asking for a password reset link (field errors: 400)"),
    "account_reset_password_done": ({200}, "'check your inbox' after asking for a reset link"),
    "account_reset_password_from_key": ({200, 400}, "a reset link's page; a wrong key says it is bad"),
    "account_reset_password_from_key_done": ({200}, "'your password is changed'"),
    "account_confirm_email": ({200, 404}, "an email confirmation link; a wrong key says so, or 404"),
    "account_email_verification_sent": ({200}, "'check your inbox' after signing up"),
    "account_inactive": ({200}, "the notice shown to a deactivated account"),
    "account_logout": ({302}, "logging out someone who is not logged in sends them to the home page"),
    "logout_handoff": ({302}, "the same, for the tenant hosts' log-out hand-off"),
    "invitation": ({404}, "an invitation link: a wrong token is a 404 for anyone"),
    "admin:logout": ({302}, "the admin's log-out, sends to the admin's index (then to its login)"),
    "admin:djstripe_custom_action": ({404}, "dj-stripe's admin actions: an unknown action is a 404"),
}


def anonymous_problem(
    route: Route, response: Any, answers: dict[str, tuple[set[int], str]] = ANONYMOUS_ANSWERS
) -> str | None:
    """What is wrong with an anonymous visitor's answer, if anything: `answers` lists the
    routes that answer otherwise than a 302 to the login page (or the API's 401)."""
    if route.name in PUBLIC_ON_TENANT_HOSTS or route.name in DELIBERATE_5XX:
        return None
    if response.status_code == 405:
        return None
    try:  # B's slug where the route takes a number: no such URL, a 404 for anyone
        resolve(response.request["PATH_INFO"], urlconf=route.urlconf)
    except Resolver404:
        return None if response.status_code == 404 else f"{response.status_code}, expected 404"
    if route.name in answers:
        allowed, _ = answers[route.name]
        return None if response.status_code in allowed else f"{response.status_code}, expected {allowed}"
    if route.urlconf == TENANT_URLS and str(route.parts[0]) == "api/":
        return None if response.status_code == 401 else f"{response.status_code}, expected 401"
    location = response.get("Location", "")
    if response.status_code == 302 and "/login/" in location:
        return None
    return f"{response.status_code} {location!r}, expected a 302 to the login page"


API_METHODS = ("get", "post", "patch", "put", "delete")
PAGE_METHODS = ("get", "post")


def methods_of(route: Route) -> tuple[str, ...]:
    return API_METHODS if str(route.parts[0]) == "api/" else PAGE_METHODS


class Sweep:
    def __init__(self, target: Org) -> None:
        self.target = target
        self.attempts = 0
        self.problems: list[str] = []

    def send(self, client: Client, method: str, path: str, *, key: str = "", follow: bool = False) -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.attempts += 1
        body = (
            json.dumps({"name": "x", "email": "x@example.com", "role": "owner"}) if method != "get" else None
        )
        if body is None:
            return client.get(path, headers=headers, follow=follow)
        return getattr(client, method)(
            path, body, content_type="application/json", headers=headers, follow=follow
        )

    def check(
        self,
        label: str,
        route: Route,
        response: Any,
        *,
        refusal: bool,
        anonymous: dict[str, tuple[set[int], str]] | None = None,
    ) -> None:
        where = (
            f"{label}: {response.request['REQUEST_METHOD']} {response.request['PATH_INFO']} ({route.name})"
        )
        if anonymous and (problem := anonymous_problem(route, response, anonymous)):
            self.problems.append(f"{where} -> {problem}")
        if response.status_code >= 500 and route.name not in DELIBERATE_5XX:
            self.problems.append(f"{where} -> {response.status_code}")
        if found := leaks(response, self.target):
            self.problems.append(f"{where} -> {response.status_code} shows B's marker in {found}")
        allowed = refusal and route.name not in PUBLIC_ON_TENANT_HOSTS
        # Followed redirects: a refusal may be a redirect to a page of A's with a message.
        status = (
            response.redirect_chain[0][1]
            if getattr(response, "redirect_chain", None)
            else response.status_code
        )
        if allowed and status not in REFUSED:
            self.problems.append(f"{where} -> {response.status_code}, not a refusal")

    def run(
        self,
        label: str,
        client: Client,
        route: Route,
        *,
        host: str,
        key: str = "",
        refusal: bool,
        follow: bool = False,
        anonymous: dict[str, tuple[set[int], str]] | None = None,
        methods: tuple[str, ...] = (),
    ) -> None:
        client.defaults["HTTP_HOST"] = host
        for path in paths_with_ids_of(route, self.target):
            for method in methods or methods_of(route):
                response = self.send(client, method, path, key=key, follow=follow)
                self.check(label, route, response, refusal=refusal, anonymous=anonymous)


@pytest.fixture
def world(db) -> tuple[Org, Org]:
    return make_world()


def test_every_tenant_url_on_bs_host_refuses_a_and_anonymous(world):
    a, b = world
    before = fingerprint(b)
    sweep = Sweep(b)
    tenant_routes = routes(TENANT_URLS)
    for route in tenant_routes:
        sweep.run("anonymous on B", Client(), route, host=b.host, refusal=True, anonymous=ANONYMOUS_ANSWERS)
        sweep.run("A's session replayed on B", logged_in(a), route, host=b.host, refusal=True)
        sweep.run("A signed in on B's host", logged_in(a, host=b.host), route, host=b.host, refusal=True)
        sweep.run("A's key on B", Client(), route, host=b.host, key=a.key, refusal=True)
    assert sweep.problems == [], "\n".join(sweep.problems)
    assert fingerprint(b) == before
    print(f"\nisolation: {len(tenant_routes)} tenant routes, {sweep.attempts} requests on B's host, 0 leaks")


def test_every_tenant_url_on_as_host_with_bs_ids_finds_nothing_of_b(world):
    a, b = world
    before = fingerprint(b)
    sweep = Sweep(b)
    with_parameters = [route for route in routes(TENANT_URLS) if route.parameters]
    assert len(with_parameters) >= 8
    for route in with_parameters:
        # A's owner may do anything on A's host: only B's ids must lead nowhere.
        sweep.run("A's owner on A with B's ids", logged_in(a), route, host=a.host, refusal=True, follow=True)
        sweep.run("A's key on A with B's ids", Client(), route, host=a.host, key=a.key, refusal=True)
    # A's own pages and API lists (the routes without ids), read: the public-schema rows they
    # show (members, invitations, keys, logo, avatars) are A's, never B's.
    without_parameters = [route for route in routes(TENANT_URLS) if not route.parameters]
    for route in without_parameters:
        sweep.run("A's owner on A's pages", logged_in(a), route, host=a.host, refusal=False, methods=("get",))
        sweep.run(
            "A's key on A's pages", Client(), route, host=a.host, key=a.key, refusal=False, methods=("get",)
        )
    assert sweep.problems == [], "\n".join(sweep.problems)
    assert fingerprint(b) == before
    print(
        f"\nisolation: {len(with_parameters)} routes with ids and {len(without_parameters)} without,"
        f" {sweep.attempts} requests on A's host, 0 leaks"
    )


def test_every_public_url_with_bs_ids_shows_nothing_of_b(world):
    a, b = world
    before = fingerprint(b)
    sweep = Sweep(b)
    public_routes = routes(PUBLIC_URLS)
    assert len(public_routes) >= 30
    for route in public_routes:
        if route.name == "account_logout":
            continue  # logging A out would turn the rest of this sweep into the anonymous one
        sweep.run(
            "anonymous on public", Client(), route, host=settings.SAAS_BASE_DOMAIN, refusal=False,
            anonymous=ANONYMOUS_ANSWERS_ON_PUBLIC,
        )  # fmt: skip
        sweep.run(
            "A on public", logged_in(a, host=settings.SAAS_BASE_DOMAIN), route,
            host=settings.SAAS_BASE_DOMAIN, refusal=False,
        )  # fmt: skip
    assert sweep.problems == [], "\n".join(sweep.problems)
    assert fingerprint(b) == before
    print(f"\nisolation: {len(public_routes)} public routes, {sweep.attempts} requests, 0 leaks")


def test_the_sweep_sees_a_leak_when_there_is_one(world):
    """The detector itself: B's own owner on B's host does see B's marker (else the sweep
    above would pass for a wrong reason, e.g. a marker that is never rendered)."""
    _, b = world
    client = logged_in(b)
    for path in ("/", "/members/", "/notifications/", "/api-keys/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert leaks(response, b) == ["body"], path
    response = Client(HTTP_HOST=b.host).get("/api/v1/projects/", headers={"Authorization": f"Bearer {b.key}"})
    assert response.status_code == 200 and leaks(response, b) == ["body"]
    # Stored files: their URLs carry the marker where a page or the API shows them. The logo's
    # API answer holds only a status and URLs, so the marker seen there is the files' names.
    logo = Logo.objects.get(pk=b.ids["logo"][-1])
    response = Client(HTTP_HOST=b.host).get(
        "/api/v1/organization/logo/", headers={"Authorization": f"Bearer {b.key}"}
    )
    assert response.status_code == 200 and leaks(response, b) == ["body"]
    assert response.json()["thumbnails"]["128"].endswith(logo.thumbnail_name(128))
    assert logo.thumbnail_name(128) in client.get("/settings/").content.decode()
    avatar = Avatar.objects.get(pk=b.ids["avatar"][-1])
    member = Client(HTTP_HOST=settings.SAAS_BASE_DOMAIN)
    member.force_login(avatar.user)
    assert avatar.thumbnail_name(128) in member.get("/account/profile/").content.decode()
