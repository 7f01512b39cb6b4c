"""Celery's `worker` and `beat` programs with their own output as log lines (SaasCeleryApp in
config/celery.py uses these classes).

Celery writes some lines past `logging`: beat prints its banner, and the worker writes
"worker: Warm shutdown (MainProcess)" (or Cold) with os.write on stdout from its signal
handler. With LOG_FORMAT=json those lines broke "one JSON object per line"; here beat's banner
becomes one line ("celery beat starting", the console format keeps the banner) and the
shutdown notice becomes a log line in both formats (the worker's banner:
saas.observability._banner_as_a_line). What is left as plain text is interactive only: the
notices after a second Ctrl+C or SIGQUIT during a shutdown already under way.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import platforms
from celery.apps import beat, worker
from celery.signals import worker_shutting_down

logger = structlog.get_logger("celery.apps.worker")


def _log_shutdown(sender: Any = None, sig: str = "", how: str = "", exitcode: int = 0, **_: Any) -> None:
    logger.info(f"worker: {how} shutdown (MainProcess)", hostname=sender, signal=sig, exitcode=exitcode)


class Worker(worker.Worker):
    def install_platform_tweaks(self, worker_controller: Any) -> None:
        super().install_platform_tweaks(worker_controller)
        # The same handlers (the same signal, warm or cold, callback), without the os.write.
        worker.install_worker_term_handler(worker_controller, verbose=False)
        worker.install_worker_term_hard_handler(worker_controller, verbose=False)
        worker_shutting_down.connect(_log_shutdown, dispatch_uid="saas.log_shutdown", weak=False)


class Beat(beat.Beat):
    def run(self) -> None:
        from django.conf import settings  # loading it configures logging

        if settings.LOG_FORMAT != "console":
            self.quiet = True
            structlog.get_logger("celery.beat").info(
                "celery beat starting",
                schedule=self.schedule,
                scheduler=str(self.scheduler_cls),
                max_interval=self.max_interval,
            )
        super().run()

    def install_sync_handler(self, service: Any) -> None:
        # Celery's handler saves the schedule through `service.scheduler`, a cached property. A
        # SIGTERM while beat is still building the scheduler (its first second) built a second
        # one from inside the first one's imports and died with a traceback in plain text (a
        # circular import of celery.app.amqp). Before the scheduler exists there is nothing to
        # save; the exit is the same.
        def _sync(signum: Any, frame: Any) -> None:
            if "scheduler" in vars(service):
                service.sync()
            raise SystemExit()

        platforms.signals.update(SIGTERM=_sync, SIGINT=_sync)
