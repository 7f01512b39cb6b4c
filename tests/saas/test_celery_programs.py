"""Beat's SIGTERM handler (saas.celery_programs.Beat): what it saves, and when."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from config.celery import app


@pytest.fixture
def term_handler() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


class Service:
    """A beat service as far as the handler sees it: a cached `scheduler`, and `sync()`."""

    def __init__(self, *, built: bool) -> None:
        self.synced = 0
        if built:
            self.scheduler = object()

    def sync(self) -> None:
        assert "scheduler" in vars(self), "sync() would build the scheduler"
        self.synced += 1


@pytest.mark.parametrize(("built", "synced"), [(False, 0), (True, 1)], ids=["starting", "running"])
def test_a_sigterm_saves_the_schedule_once_there_is_one_and_exits_either_way(term_handler, built, synced):
    service = Service(built=built)
    app.Beat(app=app).install_sync_handler(service)
    handler = signal.getsignal(signal.SIGTERM)
    assert callable(handler) and signal.getsignal(signal.SIGINT) is handler
    with pytest.raises(SystemExit):
        handler(signal.SIGTERM, None)
    assert service.synced == synced
    assert ("scheduler" in vars(service)) is built  # the handler never builds one
