"""The image's entry point: Procfile roles and secrets read from a Secret Manager stand-in."""

import base64
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.infra.conftest import REPO

ENTRYPOINT = REPO / "docker" / "entrypoint.py"
PROJECT = "projects/p/secrets"


class _Google(BaseHTTPRequestHandler):
    """The metadata server's token endpoint and Secret Manager's :access, on loopback."""

    secrets: dict[str, str] = {}
    seen_tokens: list[str] = []

    def do_GET(self):
        if self.path.startswith("/computeMetadata/v1/instance/service-accounts/default/token"):
            if self.headers.get("Metadata-Flavor") != "Google":
                return self._answer(403, {})
            return self._answer(200, {"access_token": "token-123", "expires_in": 3599})
        if self.path.startswith("/v1/") and self.path.endswith(":access"):
            self.seen_tokens.append(self.headers.get("Authorization", ""))
            value = self.secrets.get(self.path[len("/v1/") : -len(":access")])
            if value is None:
                return self._answer(404, {"error": {"status": "NOT_FOUND"}})
            return self._answer(200, {"payload": {"data": base64.b64encode(value.encode()).decode()}})
        return self._answer(404, {})

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def google():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Google)
    _Google.secrets = {f"{PROJECT}/secret-key/versions/latest": "s3cret", f"{PROJECT}/ca/versions/3": "PEM"}
    _Google.seen_tokens = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def run(arguments, env, procfile: Path):
    environ = {"PATH": os.environ["PATH"], "PROCFILE": str(procfile), **env}
    return subprocess.run(
        [sys.executable, str(ENTRYPOINT), *arguments], env=environ, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def procfile(tmp_path):
    path = tmp_path / "Procfile"
    path.write_text(
        "# roles\n"
        "show: GREETING=${GREETING:-hello} sh -c "
        '\'echo "$GREETING $SECRET_KEY ${STRIPE_SECRET_KEY:-unset}"; cat "$CA_FILE" 2>/dev/null; true\'\n'
        "web: uvicorn config.asgi:application\n"
    )
    return path


def test_a_role_runs_its_procfile_line_with_secrets_resolved(google, procfile, tmp_path):
    ca = tmp_path / "secrets" / "ca.pem"
    result = run(
        ["show"],
        {
            "GCE_METADATA_HOST": google,
            "SECRET_MANAGER_ENDPOINT": f"http://{google}",
            "SECRET_ENV": f"SECRET_KEY={PROJECT}/secret-key/versions/latest",
            "SECRET_ENV_OPTIONAL": f"STRIPE_SECRET_KEY={PROJECT}/stripe/versions/latest",
            "SECRET_FILES": f"{ca}={PROJECT}/ca/versions/3",
            "CA_FILE": str(ca),
        },
        procfile,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["hello s3cret unset", "PEM"]
    assert "STRIPE_SECRET_KEY not set" in result.stderr
    assert ca.stat().st_mode & 0o777 == 0o600
    assert _Google.seen_tokens and set(_Google.seen_tokens) == {"Bearer token-123"}


def test_a_required_secret_without_a_version_stops_the_start(google, procfile):
    result = run(
        ["show"],
        {
            "GCE_METADATA_HOST": google,
            "SECRET_MANAGER_ENDPOINT": f"http://{google}",
            "SECRET_ENV": f"SECRET_KEY={PROJECT}/never-added/versions/latest",
        },
        procfile,
    )
    assert result.returncode != 0
    assert "SECRET_KEY has no usable secret version" in result.stderr
    assert "hello" not in result.stdout


def test_without_references_no_metadata_server_is_needed(procfile):
    result = run(["show"], {"SECRET_KEY": "given", "GREETING": "hi"}, procfile)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "hi given unset"


def test_an_unknown_role_names_the_known_ones(procfile):
    result = run(["wrokre"], {}, procfile)
    assert result.returncode != 0
    assert "no Procfile role 'wrokre' (roles: show, web)" in result.stderr


def test_other_arguments_run_as_a_command(procfile):
    result = run(["sh", "-c", "echo direct"], {}, procfile)
    assert result.stdout.strip() == "direct"


def test_the_real_procfile_roles_are_parsed(entrypoint):
    roles = entrypoint.procfile_roles(REPO / "Procfile")
    assert {"web", "worker", "beat", "release"} <= set(roles)
    assert entrypoint.command_for(["release"], REPO / "Procfile") == [
        "/bin/sh",
        "-c",
        f"exec env {roles['release']}",
    ]
