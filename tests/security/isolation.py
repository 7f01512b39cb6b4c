"""The isolation suite's world and its URL sweep (tests/security/test_isolation_*.py).

Two organizations, each with data of every kind, each object carrying its organization's
marker (a random word in its name, title or address; for stored files, in the file's contents
and in its name, so the URL a page or the API would show for it holds the marker too). A
response that contains the other organization's marker is a leak, whatever its status.

Adding a kind of data is one line in `KINDS`: a function making one object of the kind in an
organization and returning its id. Every id of every kind is then tried in every path
parameter of every URL, so a new view is covered without editing the suite.

The URLs are enumerated from the resolvers of both URLconfs (`url_patterns`, recursively);
path parameters are filled with the other organization's ids and slug.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.middleware import HOST_KEY
from accounts.models import Membership, User
from accounts.services import membership_create
from api.models import SCOPES
from api.services import api_key_create
from images.models import SIZES, Avatar, Logo, StoredImage
from invitations.services import invitation_create
from jobs.models import Job
from lifecycle.models import OrganizationExport
from notifications.models import Notification
from notifications.services import notification_create_for_admins
from projects.services import project_create
from tenants.models import Tenant
from tenants.services import tenant_provision
from tests.conftest import on_plan
from tests.factories import UserFactory


@dataclass
class Org:
    tenant: Tenant
    owner: User
    marker: str
    host: str
    key: str = ""  # an API key with every scope, made by the owner
    ids: dict[str, list[int]] = field(default_factory=dict)  # kind -> ids of its objects

    def all_ids(self) -> list[int]:
        return sorted({pk for pks in self.ids.values() for pk in pks})

    def one_id_per_kind(self) -> list[int]:
        return sorted({pks[-1] for pks in self.ids.values()})


# --- the kinds of data: one line each ------------------------------------------------------


def _project(org: Org, n: int) -> int:
    return project_create(tenant=org.tenant, actor=org.owner, name=f"{org.marker} project {n}").pk


def _notification(org: Org, n: int) -> int:
    event_id = f"{org.marker}-{n}"
    notification_create_for_admins(
        tenant_id=org.tenant.pk, event_id=event_id, kind="test", title=f"{org.marker} note"
    )
    return Notification.objects.get(event_id=event_id, user_id=org.owner.pk).pk


def _member(org: Org, n: int) -> int:
    user = UserFactory.create(full_name=f"{org.marker} member {n}", email=f"{org.marker}.m{n}@example.com")
    return membership_create(user=user, tenant=org.tenant, role="member").pk


def _member_user(org: Org, n: int) -> int:
    user = UserFactory.create(full_name=f"{org.marker} person {n}", email=f"{org.marker}.p{n}@example.com")
    membership_create(user=user, tenant=org.tenant, role="admin")
    return user.pk


def _invitation(org: Org, n: int) -> int:
    return invitation_create(
        tenant=org.tenant, inviter=org.owner, email=f"{org.marker}.i{n}@example.com", role="member"
    ).pk


def _api_key(org: Org, n: int) -> int:
    return api_key_create(
        tenant=org.tenant, actor=org.owner, name=f"{org.marker} key {n}", scopes=["projects:read"]
    )[0].pk


def _report(org: Org, n: int) -> int:
    # A finished report whose file holds the marker: a download that leaked would show it.
    job = Job(kind=Job.Kind.MEMBERS_CSV, requested_by_id=org.owner.pk, status=Job.Status.DONE, progress=100)
    job.file.save(f"{org.marker}-{n}.csv", ContentFile(f"email\n{org.marker}.report@example.com\n"))
    return job.pk


def _export(org: Org, n: int) -> int:
    name = default_storage.save(f"exports/{org.marker}-{n}.zip", ContentFile(org.marker.encode()))
    export = OrganizationExport.objects.create(
        tenant=org.tenant, requested_by_id=org.owner.pk, state="done", file_name=name, size=len(org.marker)
    )
    return export.pk


def _ready_image(row: StoredImage, org: Org, n: int) -> int:
    # A processed upload whose version (a folder in every file's name, so in every thumbnail
    # URL: images.selectors.image_view) and bytes hold the marker.
    row.version, row.format, row.width, row.height = f"{org.marker}v{n}", "PNG", 256, 256
    row.original = f"images/{row.kind}/{row.owner_id}/{row.version}/original.png"
    default_storage.save(row.original, ContentFile(org.marker.encode()))
    for size in SIZES:
        default_storage.save(row.thumbnail_name(size), ContentFile(org.marker.encode()))
    row.ready_at = timezone.now()
    row.save()
    return row.pk


def _logo(org: Org, n: int) -> int:
    # One per organization: a later call replaces it (a new row, as a new upload's version is
    # a new folder), and the replaced row's id stays in the list: an id of nothing is tried too.
    Logo.objects.filter(tenant=org.tenant).delete()
    return _ready_image(Logo(tenant=org.tenant), org, n)


def _avatar(org: Org, n: int) -> int:
    # A member's picture, which the member pages and the API of the member's organization show.
    user = UserFactory.create(full_name=f"{org.marker} face {n}", email=f"{org.marker}.f{n}@example.com")
    membership_create(user=user, tenant=org.tenant, role="member")
    return _ready_image(Avatar(user=user), org, n)


KINDS: dict[str, Callable[[Org, int], int]] = {
    "project": _project,
    "notification": _notification,
    "membership": _member,
    "user": _member_user,
    "invitation": _invitation,
    "api_key": _api_key,
    "report": _report,
    "export": _export,
    "logo": _logo,
    "avatar": _avatar,
}


def _start_sequences_at(value: int) -> None:
    """The current tenant schema's ids start at `value` (its sequences are its own)."""
    with connection.cursor() as cursor:
        # pg_sequences lists identity columns' sequences too (information_schema does not).
        cursor.execute(
            "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences"
            " WHERE schemaname = current_schema()"
        )
        for (name,) in cursor.fetchall():
            cursor.execute("SELECT setval(%s, %s, false)", [name, value])


def make_org(*, objects_per_kind: int, first_id: int = 1) -> Org:
    marker = f"mk{secrets.token_hex(5)}"  # lower case: it also appears in email addresses
    # The slug is not the marker: a page echoing the requested path is not showing B's data.
    tenant = tenant_provision(name=f"Org {marker}", slug=f"s{secrets.token_hex(5)}")
    owner = UserFactory.create(full_name=f"{marker} owner", email=f"{marker}.owner@example.com")
    membership_create(user=owner, tenant=tenant, role="owner")
    on_plan(tenant, "business")  # seats for every member and invitation below
    org = Org(tenant=tenant, owner=owner, marker=marker, host=tenant.domains.get(is_primary=True).domain)
    with schema_context(tenant.schema_name):
        if first_id > 1:
            _start_sequences_at(first_id)
        for kind, make in KINDS.items():
            org.ids[kind] = [make(org, n) for n in range(objects_per_kind)]
        full_key, org.key = api_key_create(
            tenant=tenant, actor=owner, name=f"{marker} full key", scopes=list(SCOPES)
        )
    org.ids["own"] = [owner.pk, full_key.pk, owner.memberships.get().pk]
    return org


def make_world() -> tuple[Org, Org]:
    """A (the caller) and B (the target). B's tenant tables number from 100000 and B's ids that
    are also ids of A (of any kind) are dropped, so "A's host with B's ids" never names one of
    A's own objects: every id tried there belongs to B only."""
    a = make_org(objects_per_kind=1)
    b = make_org(objects_per_kind=2, first_id=100_000)
    mine = set(a.all_ids())
    with schema_context(b.tenant.schema_name):
        for kind, make in KINDS.items():
            b.ids[kind] = [pk for pk in b.ids[kind] if pk not in mine]
            for n in range(10, 20):  # public tables number globally: make more until one is B's only
                if b.ids[kind]:
                    break
                if (pk := make(b, n)) not in mine:
                    b.ids[kind].append(pk)
            assert b.ids[kind], kind
    return a, b


def fingerprint(org: Org) -> dict[str, Any]:
    """What B owns, to compare before and after the sweep (nothing of B may change)."""
    from api.models import ApiKey
    from invitations.models import Invitation
    from projects.models import Project

    with schema_context(org.tenant.schema_name):
        return {
            "projects": sorted(Project.objects.values_list("id", "name", "status", "description")),
            "notifications": sorted(Notification.objects.values_list("id", "read_at")),
            "memberships": sorted(Membership.objects.filter(tenant=org.tenant).values_list("id", "role")),
            "invitations": sorted(Invitation.objects.filter(tenant=org.tenant).values_list("id", "state")),
            "keys": sorted(ApiKey.objects.filter(tenant=org.tenant).values_list("id", "revoked_at")),
            "name": Tenant.objects.get(pk=org.tenant.pk).name,
            "logo": list(Logo.objects.filter(tenant=org.tenant).values_list("id", "version", "ready_at")),
            "avatars": sorted(
                Avatar.objects.filter(user__memberships__tenant=org.tenant).values_list("id", "version")
            ),
        }


# --- the URLs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    urlconf: str
    name: str  # "namespace:name", or the pattern text when unnamed
    parts: tuple[Any, ...]  # the patterns from the root to the leaf

    @property
    def parameters(self) -> list[str]:
        names: list[str] = []
        for pattern in self.parts:
            if isinstance(pattern, RoutePattern):
                names += list(pattern.converters)
            elif isinstance(pattern, RegexPattern):
                names += list(pattern.regex.groupindex)
        return names

    def path(self, values: dict[str, str]) -> str:
        return "/" + "".join(_fill(pattern, values) for pattern in self.parts)


def _fill(pattern: Any, values: dict[str, str]) -> str:
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m[1]], str(pattern))
    text = str(pattern)
    text = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", lambda m: values[m[1]], text)
    text = text.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    if text == ".*":  # a catch-all (the API's unknown-path 404)
        return "no-such-path/"
    return re.sub(r"\\(.)", r"\1", text).replace("?", "")


def routes(urlconf: str) -> list[Route]:
    found: list[Route] = []

    def walk(patterns: list[Any], parts: tuple[Any, ...], namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, (*parts, entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                leaf = (*parts, entry.pattern)
                name = f"{namespace}{entry.name}" if entry.name else "".join(str(p) for p in leaf)
                found.append(Route(urlconf, name, leaf))

    walk(get_resolver(urlconf).url_patterns, (), "")
    return found


def paths_with_ids_of(route: Route, target: Org) -> Iterator[str]:
    """The route's path once for every id (and the slug) of `target` in its parameters; once
    when it has none. Every parameter takes the same value in one path."""
    if not route.parameters:
        yield route.path({})
        return
    for value in [*map(str, target.one_id_per_kind()), target.tenant.slug]:
        yield route.path(dict.fromkeys(route.parameters, value))


def leaks(response: Any, target: Org) -> list[str]:
    """Where `target`'s marker shows in a response: its body or a header other than Location
    (a redirect to log in may carry the requested URL, which holds B's host)."""
    found = []
    body = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    if target.marker.encode() in body.lower():
        found.append("body")
    for header, value in response.items():
        if header.lower() != "location" and target.marker in value.lower():
            found.append(header)
    return found


def logged_in(org: Org, host: str | None = None) -> Client:
    """A client holding a session of `org`'s owner, issued by `host` (default: the org's host)."""
    host = host or org.host
    client = Client(HTTP_HOST=host)
    client.force_login(org.owner)
    session = client.session
    session[HOST_KEY] = host  # what the first request on `host` records (accounts.middleware)
    session.save()
    return client
