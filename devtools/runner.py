"""Run several long-lived processes together, with prefixed output and one clean shutdown.

Each child runs in its own session (process group), so Ctrl-C reaches only the runner, which
then stops the children in order: SIGTERM to each whole group (uvicorn's reloader and Celery's
pool processes included), a bounded wait, then SIGKILL for whatever is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from devtools.processes import signal_group


@dataclass
class Child:
    name: str
    argv: list[str]
    # Variables for this child only, on top of the supervisor's environment.
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    reader: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    """Start children, relay their output, and stop them all when one dies or we are told to."""

    def __init__(
        self, children: list[Child], *, env: dict[str, str], cwd: str, stop_timeout: float = 10.0
    ) -> None:
        self.children = children
        self.env = env
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self._print_lock = threading.Lock()
        self._signals: list[int] = []
        self._width = max(len(child.name) for child in children)

    def say(self, name: str, line: str) -> None:
        with self._print_lock:
            sys.stdout.write(f"{name:<{self._width}} | {line}\n")
            sys.stdout.flush()

    def _relay(self, child: Child) -> None:
        assert child.process is not None and child.process.stdout is not None
        for raw in child.process.stdout:
            self.say(child.name, raw.decode(errors="replace").rstrip("\n"))

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._signals.append(signum)
        if len(self._signals) > 1:  # a second Ctrl-C: stop waiting politely
            self._kill_all(signal.SIGKILL)

    def start(self) -> None:
        for child in self.children:
            child.process = subprocess.Popen(  # noqa: S603 - our own fixed commands
                child.argv,
                cwd=self.cwd,
                env={**self.env, **child.env},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            child.reader = threading.Thread(target=self._relay, args=(child,), daemon=True)
            child.reader.start()

    def run(self, on_started=None) -> int:
        """Run until a signal (exit 0) or a child's death (exit 1); always stop every child."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            if on_started:
                on_started()
            status = self._wait()
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return status

    def _wait(self) -> int:
        while True:
            if self._signals:
                self.say("dev", f"received {signal.Signals(self._signals[0]).name}; stopping")
                return 0
            for child in self.children:
                assert child.process is not None
                code = child.process.poll()
                if code is not None:
                    if child.reader:
                        child.reader.join(timeout=2)  # let its last words through first
                    self.say("dev", f"{child.name} exited with status {code}; stopping everything")
                    return 1
            time.sleep(0.2)

    def _still_running(self) -> list[str]:
        return [
            child.name
            for child in self.children
            if child.process is not None and _group_alive(child.process.pid)
        ]

    def _kill_all(self, sig: int) -> None:
        for child in self.children:
            if child.process is not None:
                signal_group(child.process.pid, sig)

    def stop(self) -> None:
        """SIGTERM every group, wait up to stop_timeout, then SIGKILL what is left."""
        self._kill_all(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        # A group may outlive its leader (pool processes): wait for every member.
        while self._still_running() and time.monotonic() < deadline:
            time.sleep(0.1)
        if stubborn := self._still_running():
            self.say("dev", f"{', '.join(stubborn)} did not stop within {self.stop_timeout:.0f}s; killing")
            self._kill_all(signal.SIGKILL)
            give_up = time.monotonic() + 5
            while self._still_running() and time.monotonic() < give_up:
                time.sleep(0.05)
        for child in self.children:
            if child.process is not None:
                child.process.wait()
            if child.reader is not None:
                child.reader.join(timeout=2)


def _group_alive(pgid: int) -> bool:
    """True while any process other than a zombie is left in the group."""
    import psutil

    for process in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
            continue
    return False
