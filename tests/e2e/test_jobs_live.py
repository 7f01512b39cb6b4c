"""A report's progress reaches the requester's socket in order and ends with job.done.

Real uvicorn (the `ws` role) serving /ws/dashboard/, the real worker building the report and
broadcasting through the channel layer in Redis: the socket sees job.progress frames with
rising percentages and consecutive sequence numbers, then one job.done with its link.
"""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from jobs.models import Job
from jobs.services import job_request
from tests.conftest import host_of
from tests.e2e.support.live_client import LiveClient, until
from tests.factories import UserFactory
from tests.realtime.conftest import session_cookie

pytestmark = pytest.mark.e2e


def test_progress_frames_arrive_in_order_ending_with_done(asgi_server, celery_worker, make_tenant, member_of):
    tenant = make_tenant()
    owner = member_of(tenant, UserFactory(), role="owner")
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{tenant.schema_name}".activity_auditevent '
            "(action, actor_email, target, data, created_at) "
            "SELECT 'project.created', 'bulk@example.com', 'p' || n, '{}'::jsonb, now() "
            "FROM generate_series(1, 20000) AS n"
        )
    cookie = session_cookie(owner, host_of(tenant))
    netloc = f"{host_of(tenant)}:{asgi_server.port}"

    async def scenario() -> list[dict]:
        client = LiveClient(netloc, asgi_server.port, f"{settings.SESSION_COOKIE_NAME}={cookie}")
        task = asyncio.create_task(client.run())
        await until(lambda: bool(client.snapshots), timeout=20, message="the first snapshot")
        today = date.today().isoformat()

        def start() -> Job:
            with schema_context(tenant.schema_name):
                return job_request(
                    kind=Job.Kind.ACTIVITY_CSV,
                    params={"date_from": today, "date_to": today},
                    user_id=owner.pk,
                )

        job = await asyncio.to_thread(start)
        await until(
            lambda: any(f["type"] == "job.done" for f in client.frames), timeout=40, message="job.done"
        )
        await client.stop()
        await task
        return [f for f in client.frames if f["type"].startswith("job.") and f["job_id"] == job.pk]

    frames = asyncio.run(scenario())
    kinds = [f["type"] for f in frames]
    assert kinds[-1] == "job.done" and kinds.count("job.done") == 1
    progress = [f["percent"] for f in frames if f["type"] == "job.progress"]
    assert len(progress) >= 3 and progress == sorted(progress) and progress[0] == 0
    numbers = [f["seq"] for f in frames]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # no gaps, no reordering
    done = frames[-1]
    assert done["ok"] is True and done["url"] == f"/reports/{done['job_id']}/download/"
