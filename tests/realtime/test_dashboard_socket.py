"""/ws/dashboard/: who may connect, the snapshot, every message type, bad frames, removal."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.services.subscriptions import past_due_downgrade
from invitations.services import invitation_accept, invitation_create
from notifications.models import Notification
from realtime.db import in_schema
from realtime.middleware import CLOSE_NOT_A_MEMBER, CLOSE_NOT_SIGNED_IN, CLOSE_UNKNOWN_HOST
from realtime.receivers import membership_changed
from saas.broadcast import broadcast_now, broadcast_on_commit, tenant_stream, user_stream
from saas.events import Envelope
from tests.conftest import host_of, on_plan
from tests.factories import UserFactory
from tests.realtime.conftest import closed_with, receive, receive_type, run, session_cookie, socket, sync

PASSWORD = "a-long-enough-passphrase-42"


@pytest.fixture
def eager_tasks():
    """The invitation emails the events also enqueue run in-process (configuration, not a patch)."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def org(make_tenant, member_of):
    tenant = make_tenant()
    owner = member_of(tenant, UserFactory(email="owner@example.com", full_name="Olive Owner"), role="owner")
    return tenant, owner


# --- who may connect --------------------------------------------------------------------


def test_anonymous_non_member_and_unknown_host_get_distinct_close_codes(org, make_tenant, member_of):
    tenant, owner = org
    host = host_of(tenant)
    stranger = UserFactory()
    other = make_tenant()
    member_of(other, stranger)
    stranger_cookie = session_cookie(stranger, host)
    copied_cookie = session_cookie(owner, host, bound_to=host_of(other))  # issued on another host

    async def body():
        codes = {}
        for name, communicator in {
            "anonymous": socket(host),
            "non-member": socket(host, cookie=stranger_cookie),
            "copied session": socket(host, cookie=copied_cookie),
            "unknown host": socket("nobody.localhost"),
            "public host": socket("localhost"),
        }.items():
            await communicator.connect(timeout=5)
            codes[name] = await closed_with(communicator)
            await communicator.disconnect()
        return codes

    assert run(body) == {
        "anonymous": CLOSE_NOT_SIGNED_IN,
        "non-member": CLOSE_NOT_A_MEMBER,
        "copied session": CLOSE_NOT_SIGNED_IN,
        "unknown host": CLOSE_UNKNOWN_HOST,
        "public host": CLOSE_UNKNOWN_HOST,
    }


def test_a_socket_from_another_origin_or_without_origin_is_refused_at_the_handshake(org):
    tenant, owner = org
    host = host_of(tenant)
    cookie = session_cookie(owner, host)

    async def body():
        results = []
        for origin in ("http://evil.example", None, f"http://other.{host}:8000"):
            communicator = socket(host, cookie=cookie, origin=origin)
            connected, code = await communicator.connect(timeout=5)
            results.append(connected)
            await communicator.disconnect()
        return results

    assert run(body) == [False, False, False]


# --- snapshot and the schema of every query -----------------------------------------------


def test_the_snapshot_has_members_the_unread_count_and_plan_read_in_the_tenants_schema(
    org, member_of, dashboard_socket
):
    tenant, owner = org
    member_of(tenant, UserFactory(email="mo@example.com", full_name="Mo Member"))
    on_plan(tenant, "pro")
    with schema_context(tenant.schema_name):
        Notification.objects.create(user_id=owner.pk, kind="k", title="one", event_id="e1")
        Notification.objects.create(user_id=owner.pk, kind="k", title="two", event_id="e2")
        Notification.objects.create(
            user_id=owner.pk, kind="k", title="read", event_id="e3", read_at=timezone.now()
        )

    async def body():
        communicator, snapshot = await dashboard_socket(tenant, owner)
        await communicator.disconnect()
        return snapshot

    snapshot = run(body)
    assert snapshot["reason"] == "connect"
    assert [(m["email"], m["role"]) for m in snapshot["members"]] == [
        ("owner@example.com", "owner"),
        ("mo@example.com", "member"),
    ]
    assert snapshot["member_count"] == 2
    assert snapshot["notifications_unread"] == 2
    # The newest first, read ones too, as the dashboard lists them.
    assert [(n["title"], n["read"]) for n in snapshot["notifications"]] == [
        ("read", True),
        ("two", False),
        ("one", False),
    ]
    assert snapshot["plan"]["code"] == "pro"
    assert snapshot["seq"] == {"tenant": 0, "user": 0}


def test_a_consumer_query_on_a_worker_thread_sees_the_tenants_rows_not_publics(org, make_tenant):
    tenant, owner = org
    other = make_tenant()
    with schema_context(tenant.schema_name):
        Notification.objects.create(user_id=owner.pk, kind="k", title="mine", event_id="e1")
    with schema_context(other.schema_name):
        Notification.objects.create(user_id=owner.pk, kind="k", title="theirs", event_id="e1")
        Notification.objects.create(user_id=owner.pk, kind="k", title="theirs too", event_id="e2")
    main_thread = threading.get_ident()

    def look():
        return (
            threading.get_ident(),
            connection.schema_name,  # type: ignore[attr-defined]
            list(Notification.objects.values_list("title", flat=True)),
        )

    def look_unwrapped():
        # What a bare database_sync_to_async call does: whatever schema the thread's connection has.
        with transaction.atomic():
            return connection.schema_name  # type: ignore[attr-defined]

    async def body():
        # The same worker threads serve both tenants in turn: each call must enter its own.
        results = []
        for _ in range(3):
            results.append(await in_schema(tenant.schema_name, look))
            results.append(await in_schema(other.schema_name, look))
        from asgiref.sync import sync_to_async

        bare = await sync_to_async(look_unwrapped, thread_sensitive=False)()
        return results, bare

    results, bare = run(body)
    assert all(thread != main_thread for thread, _, _ in results)
    assert [(schema, titles) for _, schema, titles in results[:2]] == [
        (tenant.schema_name, ["mine"]),
        (other.schema_name, ["theirs too", "theirs"]),
    ]
    assert len({tuple(titles) for _, _, titles in results}) == 2
    assert bare == "public"  # the trap in_schema exists for


# --- messages ----------------------------------------------------------------------------


def test_an_accepted_invitation_reaches_the_dashboard_as_membership_changed_and_counts(
    org, member_of, dashboard_socket, eager_tasks
):
    tenant, owner = org
    admin = member_of(tenant, UserFactory(email="admin@example.com"), role="admin")
    invitation = invitation_create(tenant=tenant, inviter=owner, email="bo@example.com", role="member")

    async def body():
        owner_socket, _ = await dashboard_socket(tenant, owner)
        admin_socket, _ = await dashboard_socket(tenant, admin)
        await sync(invitation_accept, invitation=invitation, password=PASSWORD, full_name="Bo Berg")
        changed = await receive_type(owner_socket, "membership.changed")
        admin_changed = await receive_type(admin_socket, "membership.changed")
        count = await receive_type(owner_socket, "notifications.count")
        await owner_socket.disconnect()
        await admin_socket.disconnect()
        return changed, admin_changed, count

    changed, admin_changed, count = run(body)
    assert changed["change"] == "joined"
    assert changed["member"]["email"] == "bo@example.com"
    assert changed["member"]["name"] == "Bo Berg"
    assert changed["stream"] == "tenant"
    assert changed["seq"] == 1
    assert admin_changed["seq"] == 1
    note = count.pop("notification")  # the new notification itself, for the list on the page
    assert count == {"type": "notifications.count", "unread": 1, "stream": "user", "seq": 1}
    with schema_context(tenant.schema_name):
        made = Notification.objects.get(user_id=owner.pk)
    assert note == {
        "id": made.pk,
        "kind": made.kind,
        "title": made.title,
        "url": made.url,
        "created_at": made.created_at.isoformat(),
        "read": False,
    }


def test_messages_reach_sockets_while_channels_single_sync_thread_is_busy(org, dashboard_socket):
    """Delivering a message costs no hop to channels' thread-sensitive thread: channels' own
    dispatch made one per socket and message, which queued 500 sockets behind one thread."""
    tenant, owner = org
    stream = tenant_stream(tenant.schema_name)

    async def body():
        sockets = [(await dashboard_socket(tenant, owner))[0] for _ in range(3)]
        busy = asyncio.ensure_future(sync_to_async(time.sleep, thread_sensitive=True)(4))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await sync_to_async(broadcast_now, thread_sensitive=False)(
            stream, {"type": "plan.changed", "plan": {"name": "Busy"}}
        )
        frames = [await receive_type(communicator, "plan.changed", timeout=3) for communicator in sockets]
        elapsed = time.monotonic() - started
        await busy
        for communicator in sockets:
            await communicator.disconnect()
        return frames, elapsed

    frames, elapsed = run(body)
    assert [frame["plan"]["name"] for frame in frames] == ["Busy"] * 3
    assert elapsed < 3, elapsed  # behind the busy thread it would be 3.9 s or more


def test_plan_changed_and_job_messages_arrive_and_nothing_is_sent_after_a_rollback(org, dashboard_socket):
    tenant, owner = org
    on_plan(tenant, "pro", status="past_due", past_due_since=timezone.now() - timedelta(days=30))

    def rolled_back():
        with transaction.atomic():
            broadcast_on_commit(
                user_stream(tenant.schema_name, owner.pk), {"type": "job.done", "job_id": "x"}
            )
            transaction.set_rollback(True)

    def jobs():
        with transaction.atomic():
            stream = user_stream(tenant.schema_name, owner.pk)
            broadcast_on_commit(
                stream, {"type": "job.progress", "job_id": "r1", "kind": "report", "percent": 50}
            )
            broadcast_on_commit(stream, {"type": "job.done", "job_id": "r1", "kind": "report", "ok": True})

    async def body():
        communicator, _ = await dashboard_socket(tenant, owner)
        await sync(rolled_back)
        assert await communicator.receive_nothing(timeout=0.3)
        await sync(past_due_downgrade)
        plan = await receive_type(communicator, "plan.changed")
        await sync(jobs)
        # (the downgrade also notified the owner: a notifications.count comes first)
        progress = await receive_type(communicator, "job.progress")
        done = await receive(communicator)
        await communicator.disconnect()
        return plan, progress, done

    plan, progress, done = run(body)
    assert plan["plan"]["code"] == "free"
    assert (progress["type"], progress["percent"], progress["seq"]) == ("job.progress", 50, 2)
    assert (done["type"], done["ok"], done["seq"]) == ("job.done", True, 3)


@dataclass(frozen=True)
class _Ended:
    tenant_id: int
    user_id: int
    role: str


def test_a_removed_members_open_socket_is_told_and_closed_at_once(org, member_of, dashboard_socket):
    tenant, owner = org
    removed = member_of(tenant, UserFactory(email="gone@example.com"))

    def remove():
        from accounts.models import Membership

        with transaction.atomic():
            Membership.objects.filter(tenant=tenant, user=removed).delete()
            # The receiver the member.removed event (shell's service) is connected to.
            membership_changed(
                Envelope(id="ev1", name="member.removed", tenant_schema=tenant.schema_name,
                         payload=_Ended(tenant_id=tenant.pk, user_id=removed.pk, role=""))
            )  # fmt: skip

    async def body():
        owner_socket, _ = await dashboard_socket(tenant, owner)
        removed_socket, _ = await dashboard_socket(tenant, removed)
        await sync(remove)
        told = await receive_type(removed_socket, "session.closed")
        code = await closed_with(removed_socket)
        seen = await receive_type(owner_socket, "membership.changed")
        await owner_socket.disconnect()
        return told, code, seen

    told, code, seen = run(body)
    assert told["reason"] == "removed"
    assert code == CLOSE_NOT_A_MEMBER
    assert (seen["change"], seen["user_id"], seen["member"]) == ("removed", removed.pk, None)


def test_malformed_oversized_and_unknown_frames_get_errors_and_the_socket_stays_open(org, dashboard_socket):
    tenant, owner = org

    async def body():
        communicator, _ = await dashboard_socket(tenant, owner)
        answers = []
        for frame in ("{not json", "x" * 10_000, '{"type": "launch"}', "[1, 2]"):
            await communicator.send_to(text_data=frame)
            answers.append((await receive(communicator))["error"])
        await communicator.send_to(bytes_data=b"\x00\x01")
        answers.append((await receive(communicator))["error"])
        await communicator.send_to(text_data='{"type": "ping"}')
        answers.append((await receive(communicator))["type"])
        await communicator.send_to(text_data='{"type": "resync"}')
        answers.append((await receive(communicator))["reason"])
        await communicator.send_to(text_data='{"type": "resync"}')
        answers.append((await receive(communicator))["error"])
        await communicator.disconnect()
        return answers

    assert run(body) == ["malformed", "too_large", "unknown_type", "unknown_type", "malformed", "pong",
                         "requested", "too_many_resyncs"]  # fmt: skip


def test_a_skipped_sequence_number_gets_a_fresh_snapshot_instead(org, dashboard_socket):
    tenant, owner = org
    from saas.broadcast import sequences, tenant_stream

    async def body():
        communicator, _ = await dashboard_socket(tenant, owner)
        stream = tenant_stream(tenant.schema_name)
        await sync(sequences.next, stream)  # a message numbered but lost on the way
        await sync(broadcast_on_commit, stream, {"type": "plan.changed", "plan": {}})
        frame = await receive(communicator)
        await communicator.disconnect()
        return frame

    frame = run(body)
    assert (frame["type"], frame["reason"], frame["seq"]["tenant"]) == ("snapshot", "gap", 2)


def test_a_change_in_one_tenant_reaches_only_that_tenants_sockets(make_tenant, member_of, dashboard_socket):
    tenant_a, tenant_b = make_tenant(), make_tenant()
    owner_a = member_of(tenant_a, role="owner")
    owner_b = member_of(tenant_b, role="owner")
    both = member_of(tenant_a, role="admin")
    member_of(tenant_b, both, role="admin")  # the same person on both hosts
    from saas.broadcast import tenant_stream

    async def body():
        sockets_a = [await dashboard_socket(tenant_a, owner_a), await dashboard_socket(tenant_a, both)]
        sockets_b = [await dashboard_socket(tenant_b, owner_b), await dashboard_socket(tenant_b, both)]
        await sync(
            broadcast_on_commit, tenant_stream(tenant_a.schema_name), {"type": "plan.changed", "plan": {}}
        )
        await sync(broadcast_on_commit, user_stream(tenant_a.schema_name, both.pk),
                   {"type": "notifications.count", "unread": 3})  # fmt: skip
        got_a = [
            [(await receive(c))["type"] for _ in range(n)]
            for (c, _), n in zip(sockets_a, (1, 2), strict=True)
        ]
        quiet_b = [await c.receive_nothing(timeout=0.5) for c, _ in sockets_b]
        for c, _ in sockets_a + sockets_b:
            await c.disconnect()
        return got_a, quiet_b

    got_a, quiet_b = run(body)
    assert got_a == [["plan.changed"], ["plan.changed", "notifications.count"]]
    assert quiet_b == [True, True]


def test_every_socket_rejoins_and_resyncs_when_a_counter_moved_without_a_message(
    org, dashboard_socket, settings
):
    settings.REALTIME_RESYNC_SECONDS = 0.2
    tenant, owner = org
    from saas.broadcast import sequences, tenant_stream

    async def body():
        communicator, _ = await dashboard_socket(tenant, owner)
        await sync(sequences.next, tenant_stream(tenant.schema_name))  # the last message of a burst lost
        frame = await receive(communicator, timeout=3)
        await asyncio.sleep(0.5)
        quiet = await communicator.receive_nothing(timeout=0.3)  # in step again: no more snapshots
        await communicator.disconnect()
        return frame, quiet

    frame, quiet = run(body)
    assert (frame["type"], frame["reason"]) == ("snapshot", "drift")
    assert quiet


def test_numbers_from_a_redis_that_lost_its_data_get_a_fresh_snapshot_not_ignored(org, dashboard_socket):
    """Counters restart at 0 when Redis loses its data: seq 1 again is a new message, not an old one."""
    tenant, owner = org
    from saas.broadcast import EPOCH_KEY, SEQUENCE_KEY, tenant_stream

    stream = tenant_stream(tenant.schema_name)

    def lose_the_counters() -> None:
        client = redis.Redis.from_url(django_settings.REDIS_URL)
        prefix = django_settings.CHANNEL_LAYER_PREFIX
        client.delete(EPOCH_KEY.format(prefix=prefix), SEQUENCE_KEY.format(prefix=prefix, stream=stream))
        client.close()

    async def body():
        communicator, _ = await dashboard_socket(tenant, owner)
        await sync(broadcast_on_commit, stream, {"type": "plan.changed", "plan": {"name": "Before"}})
        before = await receive(communicator)
        await sync(lose_the_counters)
        await sync(broadcast_on_commit, stream, {"type": "plan.changed", "plan": {"name": "After"}})
        after = await receive(communicator)
        await communicator.disconnect()
        return before, after

    before, after = run(body)
    assert (before["type"], before["seq"]) == ("plan.changed", 1)
    assert (after["type"], after["reason"], after["seq"]["tenant"]) == ("snapshot", "restart", 1)


def test_a_snapshot_after_a_numbered_change_is_read_afresh_not_shared_with_an_earlier_one(
    org, member_of, dashboard_socket
):
    """Sockets share a tenant read only at the same tenant counter (realtime.consumers)."""
    tenant, owner = org
    from saas.broadcast import tenant_stream

    def add_member() -> None:
        with transaction.atomic():
            member_of(tenant, UserFactory(full_name="Nell Next"), role="member")
            broadcast_on_commit(tenant_stream(tenant.schema_name), {"type": "plan.changed", "plan": {}})

    async def body():
        first, before = await dashboard_socket(tenant, owner)
        await sync(add_member)
        second, after = await dashboard_socket(tenant, owner)  # well within the shared read's life
        for communicator in (first, second):
            await communicator.disconnect()
        return before, after

    before, after = run(body)
    assert [m["name"] for m in before["members"]] == ["Olive Owner"]
    assert sorted(m["name"] for m in after["members"]) == ["Nell Next", "Olive Owner"]
    assert (before["seq"]["tenant"], after["seq"]["tenant"]) == (0, 1)
