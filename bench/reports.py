"""A 100k-row CSV report end to end on the real worker, beside a naive export of the same rows.

Enqueue -> the Procfile's worker (queue `reports`) streams the rows into a file on disk and
stores it through Django storage -> the job is `done`: wall time from the request, and the
peak RSS of the worker process that ran it (sampled every 20 ms). The peer, in the same run:
the same rows exported naively (`list(queryset)` then one CSV write) in a fresh Python process,
its peak RSS from getrusage. Target: under 10 s and under 150 MB.

    .venv/bin/python bench/reports.py [--rows 100000] [--kind summary_xlsx] [--quick]

Quick mode (`--quick` or BENCH_QUICK=1, as `make bench ARGS=--quick` passes on) reports 10,000
rows: a check that the path works on a small machine, not figures for the record.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import psutil
import redis
from _common import PYTHON, REPO, base_environment, quick_defaults, server_url

from devtools.databases import throwaway_database
from devtools.processes import CeleryWorker
from saas.queues import queue_names

NAIVE = """
import csv, io, resource, django
django.setup()
from django_tenants.utils import schema_context
from activity.models import AuditEvent
with schema_context({schema!r}):
    rows = list(AuditEvent.objects.order_by("created_at", "id"))
    out = io.StringIO()
    writer = csv.writer(out)
    for e in rows:
        writer.writerow([e.created_at.isoformat(), e.action, e.actor_email, e.target])
    data = out.getvalue().encode()
print(len(rows), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def tree_rss_peak(root: psutil.Process, until: Callable[[], bool], timeout: float) -> float:
    """The largest RSS (MB) of any process under `root` while `until()` is false."""
    peak = 0.0
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the report did not finish in time")
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):  # a process may end between listing and reading
                peak = max(peak, process.memory_info().rss / 2**20)
        time.sleep(0.02)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--kind", choices=["activity_csv", "summary_xlsx"], default="activity_csv")
    quick_defaults(parser, rows=10_000)
    args = parser.parse_args()
    load_before = os.getloadavg()
    run_id = uuid.uuid4().hex[:8]
    prefix = f"bench-reports-{run_id}"
    base_env = base_environment(SAAS_ENVIRONMENT="test", DJANGO_SETTINGS_MODULE="config.settings")
    with throwaway_database(server_url(), env=base_env) as database_url:
        env = {
            **base_env,
            "DATABASE_URL": database_url,
            "CELERY_QUEUE": prefix,
            "CACHE_KEY_PREFIX": f"bench-{run_id}",
            "MEDIA_ROOT": str(REPO / "var" / "bench-media"),
        }
        os.environ.update(env)
        import django

        django.setup()
        from datetime import date

        from django.db import connection
        from django_tenants.utils import schema_context

        from accounts.models import User
        from jobs.models import Job
        from jobs.services import job_request
        from tenants.services import tenant_provision

        tenant = tenant_provision(name="Bench Reports", slug=f"bench{run_id}")
        user = User.objects.create_user(email=f"bench-{run_id}@example.com", password=None)
        with connection.cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{tenant.schema_name}".activity_auditevent '
                "(action, actor_email, target, data, created_at) "
                "SELECT 'project.created', 'bench@example.com', 'project number ' || n, '{}'::jsonb, now() "
                "FROM generate_series(1, %s) AS n",
                [args.rows],
            )
        worker = CeleryWorker({**env, "LOG_LEVEL": "INFO"}, queue=prefix, concurrency=1)
        try:
            worker.start()
            started = time.monotonic()
            with schema_context(tenant.schema_name):
                today = date.today().isoformat()
                params = {"date_from": today, "date_to": today} if args.kind == "activity_csv" else {}
                job = job_request(kind=args.kind, params=params, user_id=user.pk)

            def finished() -> bool:
                with schema_context(tenant.schema_name):
                    return Job.objects.get(pk=job.pk).finished

            peak = tree_rss_peak(psutil.Process(worker.pid), finished, timeout=120)
            seconds = time.monotonic() - started
            with schema_context(tenant.schema_name):
                job.refresh_from_db()
            if job.status != Job.Status.DONE:
                raise SystemExit(f"report failed: {job.error}")
            naive = subprocess.run(
                [PYTHON, "-c", NAIVE.format(schema=tenant.schema_name)],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            )
            naive_rows, naive_kb = (int(word) for word in naive.stdout.split()[-2:])
        finally:
            worker.stop()
            redis.Redis.from_url(env["REDIS_URL"]).delete(*queue_names(prefix=prefix))

    naive_mb = naive_kb / 1024
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    print(
        f"streamed report: {job.rows} rows in {seconds:.2f} s, worker peak RSS {peak:.1f} MB",
        "(target: under 10 s and 150 MB)",
    )
    print(f"naive export (list in memory): {naive_rows} rows, peak RSS {naive_mb:.1f} MB")
    print(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "peak_rss_mb": round(peak, 1),
                "naive_peak_rss_mb": round(naive_mb, 1),
                "rows": job.rows,
            }
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
