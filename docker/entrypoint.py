"""The image's entry point: fetch secrets from Secret Manager, then run one Procfile role.

`docker run IMAGE <role>` runs the Procfile line named <role> through /bin/sh (so the
Procfile's `${PORT:-8000}` defaults work as on any Procfile platform); any other arguments
run as given (`docker run IMAGE python manage.py shell`). The Procfile stays the one list of
roles: a role added there (a separate `ws` for sockets, say) needs no change here.

Secrets are never in the image or in instance metadata (readable by anyone who may list
instances). Terraform sets references instead, resolved here with the instance's or job's
own service account through the metadata server:

- SECRET_ENV: `NAME=projects/P/secrets/S/versions/V,...`, each read into the variable NAME;
- SECRET_ENV_OPTIONAL: the same, but a secret with no usable version yet (Stripe keys before
  billing is switched on) leaves NAME unset instead of stopping the start;
- SECRET_FILES: `/path=projects/...,...`, each written to a file readable by this user only
  (the CA certificates DATABASE_URL and REDIS_URL point at).

Standard library only: it runs before anything else and must not depend on the app.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent
# GCE_METADATA_HOST is the variable Google's own client libraries honour (tests point it at
# a local stand-in); SECRET_MANAGER_ENDPOINT likewise.
METADATA_HOST = os.environ.get("GCE_METADATA_HOST", "metadata.google.internal")
SECRET_MANAGER_ENDPOINT = os.environ.get("SECRET_MANAGER_ENDPOINT", "https://secretmanager.googleapis.com")
ATTEMPTS = 5
TIMEOUT_SECONDS = 10


class SecretMissing(Exception):
    """The secret or version does not exist, or is disabled or destroyed."""


def procfile_roles(path: Path) -> dict[str, str]:
    """Role name -> command, in the Procfile format (`name: command`, # comments)."""
    roles: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, separator, command = line.partition(":")
        if separator and name.strip().isidentifier():
            roles[name.strip()] = command.strip()
    return roles


def _request(url: str, headers: dict[str, str]) -> bytes:
    """GET with bounded retries on transient failures (the metadata server can lag at boot)."""
    for attempt in range(ATTEMPTS):
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - fixed schemes
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                return response.read()
        except urllib.error.HTTPError as error:
            # 404: no such secret or version; 400 FAILED_PRECONDITION: version disabled or
            # destroyed. Neither gets better by retrying.
            if error.code in (400, 404):
                raise SecretMissing(f"{url}: HTTP {error.code}") from error
            if error.code < 500 and error.code != 429:
                raise
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            if attempt == ATTEMPTS - 1:
                raise
        time.sleep(min(2**attempt, 8))
    raise RuntimeError(f"{url}: no answer after {ATTEMPTS} attempts")


def access_token() -> str:
    url = f"http://{METADATA_HOST}/computeMetadata/v1/instance/service-accounts/default/token"
    body = _request(url, {"Metadata-Flavor": "Google"})
    return json.loads(body)["access_token"]


def secret_value(resource: str, token: str) -> str:
    body = _request(f"{SECRET_MANAGER_ENDPOINT}/v1/{resource}:access", {"Authorization": f"Bearer {token}"})
    return base64.b64decode(json.loads(body)["payload"]["data"]).decode()


def _pairs(value: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, separator, resource = item.partition("=")
        if not separator or not name or not resource.startswith("projects/"):
            raise SystemExit(f"entrypoint: malformed secret reference {item!r}")
        pairs.append((name, resource))
    return pairs


def resolve_secrets(environ: dict[str, str]) -> None:
    """Fill `environ` (and files) from the SECRET_* references; exit naming what failed."""
    required = _pairs(environ.pop("SECRET_ENV", ""))
    optional = _pairs(environ.pop("SECRET_ENV_OPTIONAL", ""))
    files = _pairs(environ.pop("SECRET_FILES", ""))
    if not (required or optional or files):
        return
    token = access_token()
    for name, resource in required:
        try:
            environ[name] = secret_value(resource, token)
        except SecretMissing as error:
            raise SystemExit(f"entrypoint: {name} has no usable secret version ({error})") from error
    for name, resource in optional:
        try:
            environ[name] = secret_value(resource, token)
        except SecretMissing:
            print(f"entrypoint: {name} not set: {resource} has no version yet", file=sys.stderr)
    for path, resource in files:
        target = Path(path)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            content = secret_value(resource, token)
        except SecretMissing as error:
            raise SystemExit(f"entrypoint: {path} has no usable secret version ({error})") from error
        # Created with 0600 before anything is written: never readable by others, not even briefly.
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(content)


def command_for(arguments: list[str], procfile: Path) -> list[str]:
    """The argv to exec: a Procfile role through the shell, or the arguments as given."""
    if not arguments:
        raise SystemExit("entrypoint: name a Procfile role or a command")
    roles = procfile_roles(procfile)
    if len(arguments) == 1 and arguments[0] in roles:
        # `exec env` so the role's process replaces the shell and receives SIGTERM directly;
        # env, not the shell, applies a Procfile line's leading VAR=value assignments
        # (`exec VAR=value cmd` is no valid shell).
        return ["/bin/sh", "-c", f"exec env {roles[arguments[0]]}"]
    if len(arguments) == 1 and arguments[0].isidentifier() and not _on_path(arguments[0]):
        raise SystemExit(f"entrypoint: no Procfile role {arguments[0]!r} (roles: {', '.join(roles)})")
    return arguments


def _on_path(name: str) -> bool:
    return any((Path(folder) / name).is_file() for folder in os.environ.get("PATH", "").split(os.pathsep))


def main(arguments: list[str]) -> None:
    procfile = Path(os.environ.get("PROCFILE", APP_DIR / "Procfile"))
    argv = command_for(arguments, procfile)
    environ = dict(os.environ)
    resolve_secrets(environ)
    print(f"entrypoint: {shlex.join(argv)}", file=sys.stderr, flush=True)
    os.execvpe(argv[0], argv, environ)  # noqa: S606 - the container's one job


if __name__ == "__main__":
    main(sys.argv[1:])
