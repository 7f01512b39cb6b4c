"""Ports, bounded waits, and the Procfile's processes started for tests, benchmarks and `make dev`.

Tests and benchmarks read the command of a role (`web`, `worker`, `beat`) from the Procfile
itself, so they run what production runs: a change to the Procfile reaches them without
anyone remembering to copy it. Only what a loopback run must differ in is changed, by name
(`--host 127.0.0.1`, a queue of its own), and the Procfile's own variables (`PORT`,
`WEB_CONCURRENCY`, `WORKER_CONCURRENCY`, `DB_POOL_MAX_SIZE`) size the processes.

Nothing here imports Django: the runner uses it before settings can be loaded.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from saas.queues import queue_names

REPO_DIR = Path(__file__).resolve().parents[1]
PROCFILE = REPO_DIR / "Procfile"
# Console scripts (uvicorn, celery) of the interpreter running us: the project's virtualenv.
VENV_BIN = Path(sys.executable).parent


class NotReady(AssertionError):
    """A bounded wait ran out, or the process waited for exited first.

    An AssertionError, so that in a test it reads as the failure it is.
    """


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until(
    predicate: Callable[[], Any], *, timeout: float, interval: float = 0.05, message: str = "condition"
) -> Any:
    """Poll `predicate` until it returns something truthy, and return that; NotReady after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise NotReady(f"Timed out after {timeout:.1f}s waiting for {message}")
        time.sleep(interval)


def url_answers(url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 1.0) -> bool:
    """True when a GET of `url` gets a 2xx answer; False while nothing (or an error) answers."""
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 - our loopback URLs
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return 200 <= response.status < 300
    except (OSError, http.client.HTTPException):  # refused, reset, timed out, an error status
        return False


# --- The Procfile ---------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$(?:\{(?P<braced>\w+)(?::-(?P<default>[^}]*))?\}|(?P<bare>\w+))")
_ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_]\w*)=(?P<value>.*)$")


def _expand(text: str, env: Mapping[str, str]) -> str:
    """`${VAR:-default}`, `${VAR}` and `$VAR` as a POSIX shell expands them (unset or empty: default)."""

    def value(match: re.Match[str]) -> str:
        name = match["braced"] or match["bare"]
        return env.get(name) or (match["default"] or "")

    return _VARIABLE.sub(value, text)


def procfile_command(
    role: str, env: Mapping[str, str], *, procfile: Path = PROCFILE
) -> tuple[list[str], dict[str, str]]:
    """The Procfile's command for `role`: (argv, the variables it assigns before the program).

    Variables are expanded from `env`; the program is the virtualenv's when it has one of
    that name (`uvicorn`, `celery`, `python`), as a platform's PATH would find it.
    """
    for line in procfile.read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == role and command.strip():
            break
    else:
        raise LookupError(f"{procfile} has no role {role!r}")
    words = shlex.split(_expand(command, env))
    assigned: dict[str, str] = {}
    while words and (assignment := _ASSIGNMENT.match(words[0])):
        assigned[assignment["name"]] = assignment["value"]
        words.pop(0)
    if (VENV_BIN / words[0]).exists():
        words[0] = str(VENV_BIN / words[0])
    return words, assigned


def option_set(argv: list[str], option: str, value: str | None = None) -> list[str]:
    """`argv` with `option` given `value` (or as a bare flag): replaced where present, else appended."""
    new = [option] if value is None else [option, value]
    if option not in argv:
        return [*argv, *new]
    index = argv.index(option)
    takes_value = index + 1 < len(argv) and not argv[index + 1].startswith("-")
    return [*argv[:index], *new, *argv[index + 1 + takes_value :]]


# --- Processes ------------------------------------------------------------------------------


def signal_group(pgid: int, sig: int) -> None:
    """Signal every process of a group; a group already gone is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class ManagedProcess:
    """A subprocess in its own process group, its output appended to a log file.

    Its own group: stopping it reaches every process it started (uvicorn's workers, Celery's
    pool), and a Ctrl-C in the terminal reaches only whoever started it.
    """

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], *, cwd: Path = REPO_DIR) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        descriptor, path = tempfile.mkstemp(prefix=f"{name}-", suffix=".log")
        os.close(descriptor)
        self.log_path = Path(path)
        self.generations = 0

    def start(self, **env_overrides: str | None) -> None:
        """Start (again); keyword arguments change its environment from now on (None removes)."""
        for key, value in env_overrides.items():
            if value is None:
                self.env.pop(key, None)
            else:
                self.env[key] = value
        assert not self.running(), f"{self.name} already runs"
        self.generations += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start #{self.generations}: {shlex.join(self.argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603 - our own commands
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_ready(self, predicate: Callable[[], Any], *, timeout: float, message: str) -> None:
        """Wait (bounded) for `predicate`; fail at once, with the log's tail, if the process exits."""

        def ready() -> Any:
            if not self.running():
                raise NotReady(f"{self.name} exited before {message}:\n{self.log_tail()}")
            return predicate()

        wait_until(ready, timeout=timeout, interval=0.1, message=f"{self.name}: {message}")

    def _signal_group(self, sig: int) -> None:
        if self.process is not None:
            signal_group(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group (main process and its children): no cleanup."""
        self._signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the group, wait up to `timeout`, then SIGKILL whatever is left of it."""
        if self.running():
            assert self.process is not None
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout=5)
        self._signal_group(signal.SIGKILL)  # children that outlived their parent


def bind_loopback(argv: list[str], port: int) -> list[str]:
    """A web role's command listening on 127.0.0.1:`port` (gunicorn's --bind, uvicorn's --host/--port)."""
    if Path(argv[0]).name == "gunicorn":
        return option_set(argv, "--bind", f"127.0.0.1:{port}")
    return option_set(option_set(argv, "--host", "127.0.0.1"), "--port", str(port))


class WebServer(ManagedProcess):
    """A Procfile web role on 127.0.0.1:`port`; `start()` returns once /healthz answers.

    `role` is `web` (gunicorn: the pages, as deployed) or `ws` (uvicorn: the sockets in
    production; pages and sockets on one port in development).
    """

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        port: int,
        workers: int = 1,
        name: str = "web",
        role: str = "web",
        **variables: str,
    ) -> None:
        # The Procfile's own knobs, then whatever else the role's variables should be.
        concurrency = "WS_CONCURRENCY" if role == "ws" else "WEB_CONCURRENCY"
        env = {**env, "PORT": str(port), concurrency: str(workers), **variables}
        argv, assigned = procfile_command(role, env)
        self.port = port
        self.role = role
        super().__init__(name, bind_loopback(argv, port), {**env, **assigned})

    def start(self, **env_overrides: str | None) -> None:
        super().start(**env_overrides)
        self.wait_ready(
            lambda: url_answers(f"http://127.0.0.1:{self.port}/healthz"), timeout=60, message="/healthz"
        )


class CeleryWorker(ManagedProcess):
    """The Procfile's `worker` role consuming the queues of prefix `queue` (`CELERY_QUEUE`:
    its run's `default`, `emails`, `reports`, `images`); `start()` returns once it is ready.

    Gossip, mingle and heartbeat are off: a worker of one test run or benchmark has no peers
    to talk to, and each costs start-up time.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        queue: str,
        concurrency: int = 1,
        loglevel: str = "INFO",
        name: str = "celery-worker",
    ) -> None:
        env = {**env, "WORKER_CONCURRENCY": str(concurrency)}
        argv, assigned = procfile_command("worker", env)
        argv = option_set(argv, "--loglevel", loglevel)
        for option, value in (
            ("--pool", "prefork"),
            ("-Q", ",".join(queue_names(prefix=queue))),
            ("--hostname", f"{name}-{uuid.uuid4().hex[:8]}@%h"),
            ("--without-gossip", None),
            ("--without-mingle", None),
            ("--without-heartbeat", None),
        ):
            argv = option_set(argv, option, value)
        self.loglevel = loglevel
        super().__init__(name, argv, {**env, **assigned})

    def start(self, **env_overrides: str | None) -> None:
        offset = len(self.log())
        super().start(**env_overrides)
        if self.loglevel.upper() in ("DEBUG", "INFO"):  # celery logs its "ready." line at INFO
            self.wait_ready(lambda: " ready." in self.log()[offset:], timeout=60, message="ready")
