#!/usr/bin/env python3
"""Structure verification of the one container image: does the build hold what the servers expect?

    image_structure.py assemble OUT        build OUT/<WORKDIR> the way the Dockerfile's final stage
                                           does: its COPY lines filtered by .dockerignore, its ENV,
                                           and its RUN lines that call manage.py (collectstatic)
    image_structure.py verify --app-dir D  check a built tree: an assembled OUT/app here, or /app
                                           inside the real image (GitHub Actions mounts this file)

The checks (`--only a,b` runs some): files (no development tooling, .env or VCS data inside; the
entry point and Procfile present), dockerfile (a non-root USER, no baked-in secret or DEBUG),
settings (production mode, DEBUG off, manifest storage), static (the manifest, every file it
names, every file collectstatic should have collected, every `{% static %}` a template names),
migrations (every app with models has its migrations, the graph is whole, none missing against
the source tree), roles (each Procfile role's target imports in a fresh process with production
settings and dummy secrets; Celery roles know every scheduled task; nothing imported comes from
a development-only requirement), cli (each role's exact command line parses, via `--help`),
serve (each HTTP role really starts through the entry point and answers /healthz and a hashed
static file), deploy (`manage.py check --deploy --fail-level WARNING`), makemigrations (no model
change without a migration).

Standard library only at the top level: the Django checks run in child processes started in the
tree being verified, so they import its code and nothing from the checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHECKS = (
    "files",
    "dockerfile",
    "settings",
    "static",
    "migrations",
    "roles",
    "cli",
    "serve",
    "deploy",
    "makemigrations",
)
REQUIRED_ROLES = ("web", "worker", "beat", "release")
# Present in a checkout, never in the image (development tooling, local state, VCS data).
FORBIDDEN = (
    ".env",
    ".git",
    ".venv",
    "var",
    "tests",
    "bench",
    "devtools",
    "saas/dev",
    "billing/stripe_fake",
    "terraform",
)
REQUIRED_FILES = ("manage.py", "Procfile", "docker/entrypoint.py", "config/settings.py")
HTTP_LAUNCHERS = ("uvicorn", "gunicorn", "daphne", "hypercorn")
SECRET_ENV_NAMES = re.compile(
    r"(SECRET|PASSWORD|TOKEN|_KEY$|DSN|DATABASE_URL|REDIS_URL|BROKER_URL|EMAIL_URL)"
)
DEV_APPS = ("debug_toolbar", "django_extensions", "devtools", "saas.dev", "silk")


def dummy_runtime_env() -> dict[str, str]:
    """What a deployment provides, with values that reach nothing: production must load with it."""
    nowhere = "127.0.0.1:9"  # the discard port: a connection attempt fails at once
    return {
        "SAAS_ENVIRONMENT": "production",
        "SECRET_KEY": "verify-" + secrets.token_hex(32),
        "DATABASE_URL": f"postgres://verify:verify@{nowhere}/verify",
        "REDIS_URL": f"redis://{nowhere}/0",
        "EMAIL_URL": f"smtp+tls://verify:verify@{nowhere}",
        "SAAS_BASE_DOMAIN": "example.com",
        "LOG_LEVEL": "WARNING",
    }


# --- Dockerfile and .dockerignore ---------------------------------------------------------------
@dataclass
class Instruction:
    keyword: str
    arguments: str
    flags: dict[str, str] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined; comments and parser directives dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comment lines inside a continued instruction are ignored by Docker
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    instructions = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        instruction = Instruction(keyword.upper(), arguments.strip())
        words = shlex.split(instruction.arguments) if not instruction.arguments.startswith("[") else []
        while words and words[0].startswith("--"):
            name, _, value = words.pop(0)[2:].partition("=")
            instruction.flags[name] = value
        instruction.words = words
        instructions.append(instruction)
    return instructions


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    starts = [index for index, instruction in enumerate(instructions) if instruction.keyword == "FROM"]
    if not starts:
        raise SystemExit("Dockerfile has no FROM")
    return instructions[starts[-1] + 1 :]


def env_assignments(instruction: Instruction) -> dict[str, str]:
    words = shlex.split(instruction.arguments)
    if words and "=" not in words[0]:  # the legacy `ENV NAME value` form
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


def image_user(stage: list[Instruction]) -> str:
    users = [instruction.arguments for instruction in stage if instruction.keyword == "USER"]
    return users[-1] if users else ""


def _segment_regex(pattern: str) -> str:
    out = ""
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.find("]", index)
            if end == -1:
                out += re.escape(char)
            else:
                out += pattern[index : end + 1]
                index = end
        else:
            out += re.escape(char)
        index += 1
    return out


def ignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore as (excluded?, regex) rules; the last rule matching a path or a parent wins."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:].strip() if negated else line
        pattern = os.path.normpath(pattern).lstrip("/")
        parts = []
        for segment in pattern.split("/"):
            parts.append("(?:.*/)?" if segment == "**" else _segment_regex(segment) + "/")
        regex = "".join(parts)
        regex = regex[:-1] if regex.endswith("/") else regex.removesuffix("(?:.*/)?") + ".*"
        rules.append((not negated, re.compile(f"^{regex}$")))
    return rules


def is_ignored(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    parts = relative.split("/")
    prefixes = ["/".join(parts[: count + 1]) for count in range(len(parts))]
    ignored = False
    for excluded, regex in rules:
        if any(regex.match(prefix) for prefix in prefixes):
            ignored = excluded
    return ignored


def context_files(context: Path, rules: list[tuple[bool, re.Pattern[str]]]) -> list[str]:
    """Every file Docker would send, as context-relative paths."""
    files = []
    for folder, directories, names in os.walk(context):
        relative_folder = Path(folder).relative_to(context).as_posix()
        relative_folder = "" if relative_folder == "." else relative_folder + "/"
        # A directory can only be pruned when no later `!` rule could re-include something in it.
        if not any(not excluded for excluded, _ in rules):
            directories[:] = [name for name in directories if not is_ignored(relative_folder + name, rules)]
        for name in names:
            path = relative_folder + name
            if not is_ignored(path, rules):
                files.append(path)
    return sorted(files)


# --- assemble -----------------------------------------------------------------------------------
def venv_path() -> str:
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])


def assemble(out: Path, context: Path = REPO) -> Path:
    """Build `out` as the image's root filesystem for the app; returns the WORKDIR inside it."""
    stage = final_stage(dockerfile_instructions((context / "Dockerfile").read_text()))
    dockerignore = context / ".dockerignore"
    rules = ignore_rules(dockerignore.read_text() if dockerignore.exists() else "")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    env = {"PATH": venv_path(), "HOME": str(out), "LANG": "C.UTF-8"}
    workdir = "/"
    for instruction in stage:
        if instruction.keyword == "WORKDIR":
            workdir = str(Path(workdir, instruction.arguments))
            (out / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "ENV":
            for name, value in env_assignments(instruction).items():
                if name != "PATH":  # the image's virtualenv is this interpreter's here
                    env[name] = value
        elif instruction.keyword in ("COPY", "ADD") and "from" not in instruction.flags:
            *sources, destination = instruction.words
            target = out / str(Path(workdir, destination)).lstrip("/")
            files = context_files(context, rules)
            for source in (os.path.normpath(source) for source in sources):
                for relative in files:
                    if source == ".":  # the context's contents (a directory's contents, as Docker)
                        destination_file = target / relative
                    elif relative.startswith(source + "/"):
                        destination_file = target / relative[len(source) + 1 :]
                    elif relative == source:
                        into_folder = destination.endswith("/") or len(sources) > 1
                        destination_file = target / Path(relative).name if into_folder else target
                    else:
                        continue
                    destination_file.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(context / relative, destination_file)
        elif instruction.keyword == "RUN" and "manage.py" in instruction.arguments:
            print(f"assemble: RUN {instruction.arguments}", flush=True)
            subprocess.run(  # noqa: S603 - the Dockerfile's own build step
                ["/bin/sh", "-c", instruction.arguments],
                cwd=out / workdir.lstrip("/"),
                env=env,
                check=True,
            )
    return out / workdir.lstrip("/")


# --- verify: the orchestrating process (no Django here) ------------------------------------------
class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def section(self, name: str, failures: list[str], notes: list[str]) -> None:
        for note in notes:
            print(f"  {name}: {note}")
        for failure in failures:
            print(f"FAIL {name}: {failure}")
        if not failures:
            print(f"ok   {name}")
        self.failures.extend(f"{name}: {failure}" for failure in failures)


def procfile_roles(app_dir: Path) -> dict[str, str]:
    roles = {}
    for line in (app_dir / "Procfile").read_text().splitlines():
        name, separator, command = line.partition(":")
        if separator and name.strip().isidentifier() and not line.lstrip().startswith("#"):
            roles[name.strip()] = command.strip()
    return roles


def role_argv(command: str) -> list[str]:
    """A Procfile command's words after its leading VAR=value assignments (unexpanded)."""
    words = shlex.split(command)
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words.pop(0)
    return words


def check_files(app_dir: Path) -> tuple[list[str], list[str]]:
    failures = [f"{name} is in the image" for name in FORBIDDEN if (app_dir / name).exists()]
    failures += [f"{name} is missing" for name in REQUIRED_FILES if not (app_dir / name).is_file()]
    failures += [f"{path.relative_to(app_dir)} is in the image" for path in app_dir.rglob("*.sqlite3")]
    if (app_dir / "Procfile").is_file():
        roles = procfile_roles(app_dir)
        failures += [f"the Procfile has no {role} role" for role in REQUIRED_ROLES if role not in roles]
        if "release" in roles and "migrate_schemas" not in roles["release"]:
            failures.append("the release role must run migrate_schemas")
    return failures, []


def check_dockerfile(dockerfile: Path) -> tuple[list[str], list[str]]:
    stage = final_stage(dockerfile_instructions(dockerfile.read_text()))
    failures = []
    user = image_user(stage)
    name = user.split(":")[0]
    if not user:
        failures.append("the final stage has no USER: the image would run as root")
    elif name in ("root", "0"):
        failures.append(f"USER {user} is root")
    env: dict[str, str] = {}
    for instruction in stage:
        if instruction.keyword == "ENV":
            env.update(env_assignments(instruction))
    failures += [f"ENV {key} bakes a secret into the image" for key in env if SECRET_ENV_NAMES.search(key)]
    if env.get("DEBUG", "").lower() in ("1", "true", "yes", "on"):
        failures.append("ENV DEBUG is on")
    if env.get("SAAS_ENVIRONMENT") != "production":
        failures.append(
            "ENV SAAS_ENVIRONMENT=production is not set: the image would start in development mode"
        )
    entrypoints = [instruction.arguments for instruction in stage if instruction.keyword == "ENTRYPOINT"]
    if not entrypoints or "docker/entrypoint.py" not in entrypoints[-1]:
        failures.append("ENTRYPOINT is not docker/entrypoint.py (roles and secrets would not resolve)")
    return failures, [f"runs as {user or 'root'}"]


def child_env(app_dir: Path, dockerfile: Path | None) -> dict[str, str]:
    if dockerfile is None:  # inside the image: its ENV is this process's environment
        env = dict(os.environ)
    else:
        env = {"PATH": venv_path(), "HOME": str(app_dir), "LANG": "C.UTF-8"}
        for instruction in final_stage(dockerfile_instructions(dockerfile.read_text())):
            if instruction.keyword == "ENV":
                env.update({k: v for k, v in env_assignments(instruction).items() if k != "PATH"})
    env.update(dummy_runtime_env())
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def probe(kind: str, app_dir: Path, env: dict[str, str], *extra: str) -> tuple[list[str], list[str]]:
    """Run one in-Django check in a fresh interpreter inside the tree."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(Path(__file__).resolve()), "_probe", kind, str(app_dir), *extra],
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        tail = (result.stderr or result.stdout).strip().splitlines()[-12:]
        return [f"probe exited {result.returncode}: " + " | ".join(tail)], []
    data = json.loads(lines[-1])
    return data["failures"], data["notes"]


def run_command(
    argv: list[str], app_dir: Path, env: dict[str, str], timeout: int = 180
) -> tuple[list[str], list[str]]:
    result = subprocess.run(argv, cwd=app_dir, env=env, capture_output=True, text=True, timeout=timeout)  # noqa: S603
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        return [f"`{shlex.join(argv)}` exited {result.returncode}: " + " | ".join(tail)], []
    return [], []


def check_cli(app_dir: Path, env: dict[str, str]) -> tuple[list[str], list[str]]:
    failures, notes = [], []
    for role, command in procfile_roles(app_dir).items():
        argv = role_argv(command)
        if not argv or shutil.which(argv[0], path=env["PATH"]) is None:
            failures.append(f"{role}: {argv[0] if argv else '(empty)'} is not installed")
            continue
        # The exact Procfile line with --help appended: the launcher loads the app (celery -A,
        # manage.py) and rejects an unknown option before it prints its help.
        found, _ = run_command(["/bin/sh", "-c", f"exec env {command} --help"], app_dir, env)
        failures += [f"{role}: {failure}" for failure in found]
        notes.append(f"{role}: `{shlex.join(argv[:3])} ...` parses")
    return failures, notes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def check_serve(app_dir: Path, env: dict[str, str]) -> tuple[list[str], list[str]]:
    failures, notes = [], []
    manifest = app_dir / "staticfiles" / "staticfiles.json"
    paths = json.loads(manifest.read_text())["paths"] if manifest.is_file() else {}
    static_path = paths.get("saas/app.css") or next(iter(paths.values()), None)
    for role, command in procfile_roles(app_dir).items():
        argv = role_argv(command)
        if not argv or Path(argv[0]).name not in HTTP_LAUNCHERS:
            continue
        port = free_port()
        role_env = {**env, "PORT": str(port), "WEB_CONCURRENCY": "1"}
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "docker/entrypoint.py", role],
            cwd=app_dir,
            env=role_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        # The public host over the load balancer's HTTPS: no tenant lookup, no SSL redirect.
        headers = {"Host": env["SAAS_BASE_DOMAIN"], "X-Forwarded-Proto": "https"}
        status = None
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    status = _get(f"{base}/healthz", headers)
                    break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.3)
            if status != 200:
                failures.append(f"{role}: /healthz answered {status} (process exit {process.poll()})")
            elif static_path:
                static_status = _get(f"{base}/static/{static_path}", headers)
                if static_status != 200:
                    failures.append(f"{role}: /static/{static_path} answered {static_status}")
                else:
                    notes.append(
                        f"{role}: started via the entry point; /healthz 200, /static/{static_path} 200"
                    )
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            output = process.stdout.read() if process.stdout else ""
        if failures:
            failures.append(f"{role} output: " + " | ".join(output.strip().splitlines()[-10:]))
    return failures, notes


def verify(app_dir: Path, dockerfile: Path | None, source: Path | None, only: set[str]) -> int:
    app_dir = app_dir.resolve()
    report = Report()
    env = child_env(app_dir, dockerfile)
    print(f"verifying {app_dir}")
    for name in CHECKS:
        if name not in only:
            continue
        if name == "files":
            report.section(name, *check_files(app_dir))
        elif name == "dockerfile":
            if dockerfile is None:
                print("  dockerfile: skipped (no Dockerfile given; in CI `docker inspect` checks the user)")
                continue
            report.section(name, *check_dockerfile(dockerfile))
        elif name in ("settings", "static", "migrations"):
            report.section(name, *probe(name, app_dir, env, *([str(source)] if source else [])))
        elif name == "roles":
            for role in procfile_roles(app_dir):
                report.section(f"roles[{role}]", *probe("role", app_dir, env, role, str(source or "")))
        elif name == "cli":
            report.section(name, *check_cli(app_dir, env))
        elif name == "serve":
            report.section(name, *check_serve(app_dir, env))
        elif name == "deploy":
            argv = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
            report.section(name, *run_command(argv, app_dir, env))
        elif name == "makemigrations":
            argv = [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"]
            report.section(name, *run_command(argv, app_dir, env))
    if report.failures:
        print(f"structure verification FAILED: {len(report.failures)} problem(s)")
        return 1
    print("structure verified")
    return 0


# --- probes: run inside the tree, with its settings loaded ---------------------------------------
def _setup(app_dir: str) -> None:
    sys.path.insert(0, app_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def probe_settings() -> tuple[list[str], list[str]]:
    from django.conf import settings

    failures = []
    if settings.DEBUG:
        failures.append(
            "DEBUG is on with production settings (an .env file or variable leaks into the image?)"
        )
    if getattr(settings, "ENVIRONMENT", None) != "production":
        failures.append(f"SAAS_ENVIRONMENT resolved to {getattr(settings, 'ENVIRONMENT', None)!r}")
    storage = settings.STORAGES["staticfiles"]["BACKEND"]
    if "Manifest" not in storage:
        failures.append(f"static files storage is {storage}, not a manifest storage")
    if getattr(settings, "WHITENOISE_USE_FINDERS", False):
        failures.append("WHITENOISE_USE_FINDERS is on: static files would be served from source folders")
    failures += [f"development app {app} is installed" for app in settings.INSTALLED_APPS if app in DEV_APPS]
    if not settings.SESSION_COOKIE_SECURE or not settings.CSRF_COOKIE_SECURE:
        failures.append("session or CSRF cookies are not Secure")
    return failures, [f"DEBUG={settings.DEBUG}, storage {storage.rsplit('.', 1)[-1]}"]


def _compression_pays(path: Path) -> bool:
    """Whether WhiteNoise would have written a .gz: it skips files gzip shrinks by under 5%."""
    import gzip

    data = path.read_bytes()
    return bool(data) and len(gzip.compress(data)) / len(data) <= 0.95


def probe_static() -> tuple[list[str], list[str]]:
    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders
    from django.template import engines
    from django.template.utils import get_app_template_dirs

    root = Path(settings.STATIC_ROOT)
    manifest_path = root / "staticfiles.json"
    if not manifest_path.is_file():
        return [f"no manifest at {manifest_path}: collectstatic did not run"], []
    paths: dict[str, str] = json.loads(manifest_path.read_text())["paths"]
    failures = [
        f"{name} -> {hashed} is in the manifest but not on disk"
        for name, hashed in paths.items()
        if not (root / hashed).is_file()
    ]
    failures += [
        f"{hashed} has no compressed copy"
        for hashed in paths.values()
        if hashed.endswith((".css", ".js"))
        and (root / hashed).is_file()
        and not (root / f"{hashed}.gz").is_file()
        and _compression_pays(root / hashed)
    ]
    # What collectstatic should have collected (its default ignore patterns).
    expected = {path for finder in get_finders() for path, _ in finder.list(["CVS", ".*", "*~"])}
    failures += [f"{path} was never collected" for path in sorted(expected - set(paths))]
    # The project's own templates: a package's templates may name static files of its
    # sub-apps that are not installed (allauth's mfa), and its installed files are covered by
    # the finders comparison above.
    app_root = Path.cwd().resolve()
    template_dirs = {Path(folder).resolve() for folder in get_app_template_dirs("templates")}
    for engine in engines.all():
        template_dirs.update(Path(folder).resolve() for folder in getattr(engine, "dirs", []))
    template_dirs = {folder for folder in template_dirs if folder.is_relative_to(app_root)}
    reference = re.compile(r"""{%\s*static\s+(['"])(?P<path>[^'"]+)\1""")
    references = 0
    for folder in template_dirs:
        for template in folder.rglob("*"):
            if not template.is_file() or template.suffix not in (".html", ".txt", ".xml", ".js", ".css"):
                continue
            for match in reference.finditer(template.read_text(errors="replace")):
                references += 1
                if match["path"] not in paths:
                    failures.append(f"{template}: {{% static '{match['path']}' %}} is not in the manifest")
    notes = [
        f"manifest {len(paths)} files; {len(expected)} expected from finders; "
        f"{references} template references"
    ]
    return failures, notes


def probe_migrations(source: str | None) -> tuple[list[str], list[str]]:
    from django.apps import apps
    from django.db.migrations.exceptions import NodeNotFoundError
    from django.db.migrations.loader import MigrationLoader

    failures: list[str] = []
    try:
        loader = MigrationLoader(None, ignore_no_migrations=True)
    except NodeNotFoundError as error:
        return [f"the migration graph is broken: {error}"], []
    app_root = Path.cwd().resolve()
    checked = 0
    for config in apps.get_app_configs():
        if not list(config.get_models()):
            continue
        if config.label not in loader.migrated_apps:
            failures.append(f"{config.label} has models but no migrations")
            continue
        checked += 1
        folder = Path(config.path).resolve()
        if source and folder.is_relative_to(app_root):
            relative = folder.relative_to(app_root) / "migrations"
            built = {path.name for path in (app_root / relative).glob("*.py")}
            in_source = {path.name for path in (Path(source) / relative).glob("*.py")}
            failures += [
                f"{relative / name} is in the source but not in the image"
                for name in sorted(in_source - built)
            ]
    return failures, [f"{checked} apps with models, {len(loader.disk_migrations)} migrations"]


def _requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[=<>!~\[; ]", line)[0].lower().replace("_", "-"))
    return names


def probe_role(role: str, source: str) -> tuple[list[str], list[str]]:
    import importlib
    from importlib.metadata import packages_distributions

    command = procfile_roles(Path.cwd())[role]
    argv = role_argv(command)
    launcher = Path(argv[0]).name if argv else ""
    failures: list[str] = []
    notes: list[str] = []
    if launcher in HTTP_LAUNCHERS:
        target = next((word for word in argv[1:] if re.match(r"^[\w.]+:[\w.]+$", word)), None)
        if target is None:
            return [f"no module:attribute in `{command}`"], []
        module_name, attribute = target.split(":")
        application = getattr(importlib.import_module(module_name), attribute, None)
        if not callable(application):
            failures.append(f"{target} is not a callable application")
        notes.append(f"{launcher} {target} imports")
    elif launcher == "celery":
        app_name = next((argv[i + 1] for i, word in enumerate(argv) if word in ("-A", "--app")), None)
        if app_name is None:
            return [f"no -A/--app in `{command}`"], []
        from celery.app.utils import find_app

        celery_app = find_app(app_name)  # what `celery -A` itself does
        celery_app.loader.import_default_modules()
        registered = set(celery_app.tasks)
        scheduled = {entry["task"] for entry in (celery_app.conf.beat_schedule or {}).values()}
        failures += [f"scheduled task {name} is not registered" for name in sorted(scheduled - registered)]
        notes.append(
            f"celery app {app_name}: {len(registered)} tasks, {len(scheduled)} scheduled, all registered"
        )
    elif launcher.startswith("python") and argv[1:2] == ["manage.py"]:
        from django.core.management import get_commands, load_command_class

        name = argv[2] if len(argv) > 2 else ""
        commands = get_commands()
        if name not in commands:
            return [f"manage.py has no command {name!r}"], []
        load_command_class(commands[name], name)
        notes.append(f"manage.py {name} ({commands[name]}) loads")
    else:
        return [f"no import check knows `{launcher}`: teach scripts/image_structure.py about it"], []
    requirements, development = Path(source, "requirements.txt"), Path(source, "requirements-dev.txt")
    if source and requirements.is_file() and development.is_file():
        dev_only = _requirement_names(development) - _requirement_names(requirements)
        owners = packages_distributions()
        for module_name in sorted({name.split(".")[0] for name in sys.modules}):
            dists = {dist.lower().replace("_", "-") for dist in owners.get(module_name, [])}
            if dists and dists <= dev_only:
                failures.append(f"imports {module_name} from development-only {', '.join(sorted(dists))}")
    return failures, notes


def run_probe(kind: str, app_dir: str, extra: list[str]) -> None:
    _setup(app_dir)
    if kind == "settings":
        failures, notes = probe_settings()
    elif kind == "static":
        failures, notes = probe_static()
    elif kind == "migrations":
        failures, notes = probe_migrations(extra[0] if extra else None)
    elif kind == "role":
        failures, notes = probe_role(extra[0], extra[1] if len(extra) > 1 else "")
    else:
        raise SystemExit(f"unknown probe {kind}")
    print(json.dumps({"failures": failures, "notes": notes}))


def main(arguments: list[str]) -> int:
    if arguments[:1] == ["_probe"]:
        run_probe(arguments[1], arguments[2], arguments[3:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    assemble_parser = commands.add_parser("assemble", help="build a tree the way the Dockerfile does")
    assemble_parser.add_argument("out", type=Path)
    verify_parser = commands.add_parser("verify", help="check a built tree")
    verify_parser.add_argument("--app-dir", type=Path, required=True)
    verify_parser.add_argument(
        "--dockerfile", type=Path, help="check its final stage too (omit inside the image)"
    )
    verify_parser.add_argument(
        "--source", type=Path, help="the checkout, to compare migrations and requirements"
    )
    verify_parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(CHECKS)}")
    options = parser.parse_args(arguments)
    if options.command == "assemble":
        print(assemble(options.out))
        return 0
    only = set(options.only.split(",")) if options.only else set(CHECKS)
    unknown = only - set(CHECKS)
    if unknown:
        parser.error(f"unknown checks: {', '.join(sorted(unknown))}")
    return verify(options.app_dir, options.dockerfile, options.source, only)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
