#!/usr/bin/env python
"""Stripe webhooks: acknowledgement rate and latency at our endpoint, time to applied state,
and dj-stripe's own synchronous webhook view in the same run.

Real processes on loopback: uvicorn serving config.asgi (our inbox), a second uvicorn serving
dj-stripe's ProcessWebhookView (bench/djstripe_settings.py), both the Procfile's web role, a
Celery worker (its worker role), the Stripe stand-in (devtools/stripe_fake/), PostgreSQL and
Redis. Its own throwaway database is copied from the migrated benchmark template
(`saas_bench_template`, devtools.databases; made on first use: ~3 minutes) and dropped at
the end.

    .venv/bin/python bench/webhooks.py [--events 400] [--concurrency 8] [--sequential 200] [--samples 20]

Target: median acknowledgement under 20 ms. The last line is JSON:
{"ack_ms": median, "ack_p95_ms": .., "applied_ms": median, "djstripe_ack_ms": median}
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import base_environment, quick_defaults, server_url

from devtools.databases import throwaway_database
from devtools.processes import CeleryWorker, ManagedProcess, NotReady, WebServer, free_port, wait_until
from devtools.stripe_fake import FakeStripe, event_payload, webhook_signature_header

SECRET = "whsec_bench"


def post(session: requests.Session, url: str, host: str, payload: str) -> tuple[float, int]:
    headers = {
        "Host": host,
        "Content-Type": "application/json",
        "Stripe-Signature": webhook_signature_header(payload, SECRET),
    }
    started = time.perf_counter()
    response = session.post(url, data=payload.encode(), headers=headers, timeout=30)
    return (time.perf_counter() - started) * 1000, response.status_code


def hammer(url: str, host: str, payloads: list[str], concurrency: int) -> tuple[list[float], float, int]:
    """POST every payload with `concurrency` clients; (latencies ms, wall seconds, non-2xx)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    queue = list(reversed(payloads))

    def client() -> None:
        nonlocal errors
        session = requests.Session()
        while True:
            with lock:
                if not queue:
                    return
                payload = queue.pop()
            elapsed, status = post(session, url, host, payload)
            with lock:
                latencies.append(elapsed)
                errors += status >= 300

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started, errors


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--sequential", type=int, default=200, help="events sent one at a time")
    parser.add_argument("--samples", type=int, default=20, help="timed applications (sequential)")
    quick_defaults(parser, events=50, sequential=30, samples=5)
    args = parser.parse_args()

    fake = FakeStripe().start()
    our_port, djstripe_port = free_port(), free_port()
    env = base_environment(
        DJANGO_SETTINGS_MODULE="config.settings",
        SAAS_ENVIRONMENT="development",
        CELERY_QUEUE=f"bench-webhooks-{os.getpid()}",
        EMAIL_URL="dummymail://",
        SAAS_PUBLIC_PORT=str(our_port),
        STRIPE_SECRET_KEY="sk_test_" + "bench" * 6,  # dj-stripe checks the key's shape
        STRIPE_WEBHOOK_SECRET=SECRET,
        STRIPE_API_BASE=fake.url,
        STRIPE_PRICE_PRO="price_pro",
        STRIPE_PRICE_BUSINESS="price_business",
        DB_POOL_MAX_SIZE="8",
    )
    processes: list[ManagedProcess] = []
    with throwaway_database(server_url(), env=env, prefix="bench_webhooks") as db_url:
        env["DATABASE_URL"] = db_url
        os.environ.update(env)
        import django

        django.setup()
        from django.db import connection
        from djstripe.models import WebhookEndpoint

        from accounts.services import tenant_create_with_owner
        from billing.models import BillingAccount, WebhookEvent
        from billing.services import customer_ensure

        WebhookEvent.objects.all().delete()  # a copy of the template: start from an empty inbox
        tenant = tenant_create_with_owner(
            slug=f"bench{os.getpid()}", name="Bench", owner_email="owner@bench.test"
        )
        customer = customer_ensure(tenant=tenant)
        subscription = fake.subscription_create(customer=customer, price="price_pro")
        endpoint = WebhookEndpoint.objects.create(
            id=f"we_bench_{os.getpid()}",
            livemode=False,
            api_version="",
            enabled_events=["*"],
            secret=SECRET,
            status="enabled",
            url=f"http://127.0.0.1:{djstripe_port}/",
            metadata={},
        )
        connection.close()
        try:
            for port, name, settings_module in (
                (our_port, "ours", "config.settings"),
                (djstripe_port, "djstripe", "bench.djstripe_settings"),
            ):
                server = WebServer({**env, "DJANGO_SETTINGS_MODULE": settings_module}, port=port, name=name)
                processes.append(server)
                server.start()
            host = f"localhost:{our_port}"

            def events(prefix: str, count: int) -> list[str]:
                return [
                    event_payload("customer.subscription.updated", subscription, event_id=f"evt_{prefix}_{i}")
                    for i in range(count)
                ]

            ours_url = f"http://127.0.0.1:{our_port}/billing/webhook/"
            hammer(ours_url, host, events("warm", 30), args.concurrency)
            # One delivery at a time (how Stripe mostly calls an endpoint): the acknowledgement
            # time itself. Then many at once: throughput, and latency when requests queue.
            # First with the web server alone (the worker starts after: events wait in the queue),
            # then again while the worker applies events on the same cores.
            web = psutil.Process(processes[0].pid)
            cpu_before = sum(web.cpu_times()[:2])
            ours_seq, _, errors_seq = hammer(ours_url, host, events("seq", args.sequential), 1)
            # CPU the web server spent per acknowledgement: independent of other load on the machine.
            ours_cpu_ms = (sum(web.cpu_times()[:2]) - cpu_before) * 1000 / args.sequential
            # Not waited for: the next measurement is meant to overlap its start and its work.
            worker = CeleryWorker(env, queue=env["CELERY_QUEUE"], concurrency=2, loglevel="WARNING")
            processes.append(worker)
            worker.start()
            ours_busy, _, errors_busy = hammer(ours_url, host, events("busy", args.sequential), 1)
            ours, wall, errors = hammer(
                ours_url, host, events(uuid.uuid4().hex[:6], args.events), args.concurrency
            )
            try:
                wait_until(
                    lambda: not WebhookEvent.objects.exclude(state="processed").exists(),
                    timeout=180,
                    interval=0.2,
                    message="the worker to apply every acknowledged event",
                )
            except NotReady:
                from django.db.models import Count

                print(
                    list(WebhookEvent.objects.values("state").annotate(n=Count("id"))),
                    list(
                        WebhookEvent.objects.exclude(last_error="").values_list("last_error", flat=True)[:3]
                    ),
                )
                raise

            applied: list[float] = []
            plan = "pro"
            for index in range(args.samples):
                plan, price = ("business", "price_business") if plan == "pro" else ("pro", "price_pro")
                fake.subscription_set(subscription["id"], price=price)
                payload = event_payload(
                    "customer.subscription.updated",
                    fake.subscriptions[subscription["id"]],
                    event_id=f"evt_applied_{index}",
                )
                started = time.perf_counter()
                post(requests.Session(), f"http://127.0.0.1:{our_port}/billing/webhook/", host, payload)

                def plan_applied(plan: str = plan) -> bool:
                    return BillingAccount.objects.filter(tenant=tenant, plan=plan).exists()

                wait_until(plan_applied, timeout=30, interval=0.002, message="the plan change")
                applied.append((time.perf_counter() - started) * 1000)

            djstripe_url = f"http://127.0.0.1:{djstripe_port}/stripe/webhook/{endpoint.djstripe_uuid}/"
            djstripe_host = f"localhost:{djstripe_port}"
            hammer(djstripe_url, djstripe_host, events("djwarm", 30), args.concurrency)
            theirs_seq, _, their_errors_seq = hammer(
                djstripe_url, djstripe_host, events("djseq", args.sequential), 1
            )
            theirs, their_wall, their_errors = hammer(
                djstripe_url,
                djstripe_host,
                events("dj" + uuid.uuid4().hex[:6], args.events),
                args.concurrency,
            )
        finally:
            for process in reversed(processes):
                process.stop()
            fake.stop()
            connection.close()

    print(
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end "
        "(other work on the machine counts)"
    )
    print(f"one at a time, {args.sequential} distinct signed events:")
    for label, latencies, failures in (
        ("  ours      (inbox, async), worker not running ", ours_seq, errors_seq),
        ("  ours      (inbox, async), worker applying    ", ours_busy, errors_busy),
        ("  dj-stripe (synchronous, applies in the request)", theirs_seq, their_errors_seq),
    ):
        print(
            f"{label}: median {statistics.median(latencies):6.2f} ms  p95 {p95(latencies):6.2f} ms"
            f"  non-2xx {failures}"
        )
    print(f"  web server CPU per acknowledgement (ours, worker not running): {ours_cpu_ms:.2f} ms")
    print(f"{args.concurrency} concurrent clients, {args.events} distinct signed events:")
    for label, latencies, seconds, failures in (
        ("  ours      (inbox, async)", ours, wall, errors),
        ("  dj-stripe (synchronous)", theirs, their_wall, their_errors),
    ):
        print(
            f"{label}: {args.events / seconds:7.1f} acks/s  median {statistics.median(latencies):6.2f} ms"
            f"  p95 {p95(latencies):6.2f} ms  non-2xx {failures}"
        )
    print(
        f"time to applied state (POST -> tenant plan changed: outbox, worker, Stripe read, lock, write): "
        f"median {statistics.median(applied):.1f} ms  p95 {p95(applied):.1f} ms over {len(applied)} changes"
    )
    verdict = "met" if statistics.median(ours_seq) < 20 else "NOT met"
    print(f"target: median acknowledgement < 20 ms (one at a time, web server alone) -> {verdict}")
    print(
        json.dumps(
            {
                "ack_ms": round(statistics.median(ours_seq), 2),
                "ack_p95_ms": round(p95(ours_seq), 2),
                "applied_ms": round(statistics.median(applied), 2),
                "djstripe_ack_ms": round(statistics.median(theirs_seq), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
