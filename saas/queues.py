"""Celery queues by purpose, and their names for one deployment or test run.

Tests and benchmarks give each process a prefix (`CELERY_QUEUE`) so runs sharing a Redis never
consume each other's messages; a deployment has none. The settings route tasks to these queues
and the Procfile's worker consumes them all (README: Background work).
Plain Python, no Django: the dev runner imports it before anything is installed.
"""

from __future__ import annotations

QUEUE_PURPOSES = ("default", "emails", "reports", "images")


def queue_name(purpose: str, *, prefix: str = "") -> str:
    """The broker queue of `purpose` under `prefix` (`emails`, or `<prefix>.emails`)."""
    if purpose not in QUEUE_PURPOSES:
        raise ValueError(f"unknown queue purpose {purpose!r}")
    return f"{prefix}.{purpose}" if prefix else purpose


def queue_names(*, prefix: str = "") -> list[str]:
    """Every queue a worker of this deployment (or run) consumes."""
    return [queue_name(purpose, prefix=prefix) for purpose in QUEUE_PURPOSES]
