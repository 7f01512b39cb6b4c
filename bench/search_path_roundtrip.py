"""What a schema move costs on one connection: `SET search_path` sent alone, folded, or none.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saas .venv/bin/python bench/search_path_roundtrip.py

One psycopg connection (client-side binding, as the backend's cursor) in a scratch database
with 200 schemas of one table each. Per "request": move to the next schema and run one
primary-key SELECT, the SET sent as a query of its own ("alone", the old backend) or in one
query with the SELECT ("folded", tenants.postgresql_backend now); "stay" runs the SELECT on
one schema. CPU per request is this process's plus its PostgreSQL backend's (from /proc);
the ways take turns, 4 rounds of 20,000 (`--quick`: 2 of 5,000), medians printed, last line JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import server_url

SCHEMAS = 200
QUERY = "SELECT id, name FROM thing WHERE id = %s"


def main() -> None:
    quick = "--quick" in sys.argv
    rounds, per_round = (2, 5000) if quick else (4, 20000)
    name = f"saas_bench_roundtrip_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url(), dbname="postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(server_url(), dbname=name, autocommit=True) as connection:
            for number in range(SCHEMAS):
                connection.execute(
                    f"CREATE SCHEMA s{number}; CREATE TABLE s{number}.thing (id int PRIMARY KEY, name text); "
                    f"INSERT INTO s{number}.thing VALUES (1, 's{number}')"
                )
            figures = measure(connection, rounds, per_round)
    finally:
        with psycopg.connect(server_url(), dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    for way, (client, backend) in figures.items():
        print(
            f"{way:<7} client {client:6.1f} us  postgres {backend:6.1f} us  total {client + backend:6.1f} us"
        )
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(json.dumps({f"{way}_us": round(sum(pair), 1) for way, pair in figures.items()}))


def measure(connection: psycopg.Connection, rounds: int, per_round: int) -> dict[str, tuple[float, float]]:
    cursor = psycopg.ClientCursor(connection)
    backend = Path(f"/proc/{connection.info.backend_pid}/stat")
    ticks = os.sysconf("SC_CLK_TCK")

    def backend_seconds() -> float:
        fields = backend.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    def run(way: str, count: int) -> tuple[float, float]:
        client_before, backend_before = time.process_time(), backend_seconds()
        for number in range(count):
            move = f'SET search_path = "s{number % SCHEMAS}", "public"; '
            if way == "alone":
                cursor.execute(move)
                cursor.execute(QUERY, [1])
            elif way == "folded":
                cursor.execute(move + QUERY, [1])
                cursor.nextset()
            else:
                cursor.execute(QUERY, [1])
            cursor.fetchall()
        return (
            (time.process_time() - client_before) / count * 1e6,
            (backend_seconds() - backend_before) / count * 1e6,
        )

    ways = ("alone", "folded", "stay")
    for way in ways:
        run(way, 1000)  # warm: every schema's table in the backend's caches
    results: dict[str, list[tuple[float, float]]] = {way: [] for way in ways}
    for _ in range(rounds):
        for way in ways:
            results[way].append(run(way, per_round))
    return {
        way: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        for way, runs in results.items()
    }


if __name__ == "__main__":
    main()
