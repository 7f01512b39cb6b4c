"""pgserver's PostgreSQL, listening on 127.0.0.1 as well as on its unix socket.

pgserver starts the server with `-h ""` (socket only). Test helpers and tools routinely
rebuild a connection URL from HOST and PORT, which a socket-only server cannot satisfy, so
this subclass starts it on a loopback TCP port instead. pgserver still does the rest: initdb
with trust authentication, running as an unprivileged `pgserver` user when we are root, and
the permissions that needs.

It also starts the server with room for many open files (MAX_FILES_PER_PROCESS): a backend
serving pages for many tenants touches each schema's table and index files, and at
PostgreSQL's default of 1,000 open files per process a connection spread over 200 tenants
closed and reopened files on every request (README, "PostgreSQL settings for many schemas").
"""

from __future__ import annotations

import resource
import time
import warnings
from pathlib import Path

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
    import pgserver
    from pgserver.utils import PostmasterInfo


# PostgreSQL's max_files_per_process for the embedded server, and the open-files limit it is
# started under (capped by the hard limit; PostgreSQL itself uses no more than the limit allows).
MAX_FILES_PER_PROCESS = 20_000


def _open_files_limit_raise(wanted: int) -> None:
    """Raise this process's soft open-files limit towards `wanted` (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class LoopbackPostgresServer(pgserver.PostgresServer):
    """A pgserver PostgresServer whose postmaster also listens on 127.0.0.1:`port`."""

    port = 0  # set on a subclass before construction: __init__ starts the server

    def ensure_postgres_running(self) -> None:
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is not None and info.is_running():
            self._postmaster_info = info
            return
        # pgdata is owned by the server's user, so its socket can live there.
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.pgdata} -c max_files_per_process={MAX_FILES_PER_PROCESS}"
        )
        _open_files_limit_raise(MAX_FILES_PER_PROCESS + 100)  # the postmaster's own files too
        try:
            pgserver.pg_ctl(  # type: ignore[attr-defined]  # generated at import
                ["-w", "-o", options, "-l", str(self.log), "start"],
                pgdata=self.pgdata,
                user=self.system_user,
                timeout=60,
            )
        except Exception as error:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{error}; the server log ends with:\n{tail}") from None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
            if info is not None and info.is_running() and info.status == "ready":
                self._postmaster_info = info
                return
            time.sleep(0.1)
        raise RuntimeError("PostgreSQL started but did not report ready within 30 s")


def postgres_start(pgdata: Path, *, port: int) -> int:
    """Start PostgreSQL in `pgdata` on `port` unless it already runs; return its TCP port."""
    pgdata.mkdir(parents=False, exist_ok=True)
    server_class = type("LoopbackPostgresServer", (LoopbackPostgresServer,), {"port": port})
    # cleanup_mode=None: pgserver must not stop the server when this interpreter exits; the
    # last runner using it does (devtools.services._release).
    server = server_class(pgdata.resolve(), cleanup_mode=None)
    info = server.get_postmaster_info()
    if info.port is None or info.hostname is None:
        raise RuntimeError(f"the PostgreSQL already running in {pgdata} listens on no TCP port; stop it")
    return info.port
