"""Structure verification passes on the tree the Dockerfile builds and fails on broken ones.

One tree is assembled per session (collectstatic included, a few seconds); each broken variant
is a copy with one thing removed or changed, verified by the checks that must catch it.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import REPO

SCRIPT = REPO / "scripts" / "image_structure.py"
FAST_CHECKS = "files,dockerfile,settings,static,migrations"


@pytest.fixture(scope="session")
def built_root(tmp_path_factory, image_structure) -> Path:
    root = tmp_path_factory.mktemp("image") / "root"
    image_structure.assemble(root, REPO)
    return root


@pytest.fixture
def build(built_root, tmp_path) -> Path:
    """A private copy of the assembled tree to break (the app's WORKDIR inside it)."""
    copy = tmp_path / "root"
    shutil.copytree(built_root, copy, symlinks=True)
    return copy / "app"


def verify(app_dir: Path, checks: str, dockerfile: Path = REPO / "Dockerfile") -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "verify",
            "--app-dir",
            str(app_dir),
            "--dockerfile",
            str(dockerfile),
            "--source",
            str(REPO),
            "--only",
            checks,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_real_build_passes(build):
    result = verify(build, FAST_CHECKS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "structure verified" in result.stdout
    # What the image must hold, seen in the tree itself.
    assert (build / "staticfiles" / "staticfiles.json").is_file()
    assert not (build / "tests").exists() and not (build / ".git").exists()


def test_a_missing_static_file_fails(build):
    manifest = (build / "staticfiles" / "staticfiles.json").read_text()
    hashed = next(
        name
        for name in (build / "staticfiles" / "saas").iterdir()
        if name.suffix == ".css" and "." in name.stem
    )
    assert hashed.name in manifest
    hashed.unlink()
    result = verify(build, "static")
    assert result.returncode == 1
    assert f"saas/{hashed.name} is in the manifest but not on disk" in result.stdout


def test_a_template_naming_a_static_file_that_was_never_collected_fails(build):
    template = build / "saas" / "templates" / "saas" / "broken.html"
    template.write_text("{% load static %}<script src=\"{% static 'saas/missing.js' %}\"></script>")
    result = verify(build, "static")
    assert result.returncode == 1
    assert "{% static 'saas/missing.js' %} is not in the manifest" in result.stdout


def test_an_uncollected_static_file_fails(build):
    # A source file added after collectstatic ran: the image would 404 on it.
    (build / "saas" / "static" / "saas" / "late.css").write_text("body {}")
    result = verify(build, "static")
    assert result.returncode == 1
    assert "saas/late.css was never collected" in result.stdout


def test_a_missing_migration_fails(build):
    migrations = sorted((build / "notifications" / "migrations").glob("0*.py"))
    assert migrations, "notifications has migrations in the source"
    migrations[-1].unlink()
    result = verify(build, "migrations")
    assert result.returncode == 1
    assert (
        f"notifications/migrations/{migrations[-1].name} is in the source but not in the image"
        in result.stdout
    )


def test_a_migration_missing_from_the_middle_breaks_the_graph(build):
    migrations = sorted((build / "tenants" / "migrations").glob("0*.py"))
    assert len(migrations) >= 2
    migrations[0].unlink()
    result = verify(build, "migrations")
    assert result.returncode == 1
    assert "migration graph is broken" in result.stdout


def test_debug_leaking_through_an_env_file_fails(build):
    (build / ".env").write_text("DEBUG=true\n")
    result = verify(build, "files,settings")
    assert result.returncode == 1
    assert "FAIL files: .env is in the image" in result.stdout
    # The production settings themselves refuse DEBUG now (SAAS_ENVIRONMENT unset means
    # production), so the settings check fails on their refusal to load.
    assert "FAIL settings:" in result.stdout
    assert "DEBUG" in result.stdout.split("FAIL settings:", 1)[1]


def test_an_image_without_a_user_runs_as_root_and_fails(build, tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "\n".join(
            line for line in (REPO / "Dockerfile").read_text().splitlines() if not line.startswith("USER")
        )
    )
    result = verify(build, "dockerfile", dockerfile=dockerfile)
    assert result.returncode == 1
    assert "the final stage has no USER" in result.stdout


def test_a_baked_in_secret_fails(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text((REPO / "Dockerfile").read_text() + "\nENV SECRET_KEY=oops DEBUG=1\n")
    result = verify(tmp_path, "dockerfile", dockerfile=dockerfile)
    assert "ENV SECRET_KEY bakes a secret into the image" in result.stdout
    assert "ENV DEBUG is on" in result.stdout


def test_a_procfile_role_whose_module_does_not_import_fails(build):
    procfile = build / "Procfile"
    procfile.write_text(
        procfile.read_text().replace("config.asgi:application", "config.asgi_gone:application")
    )
    result = verify(build, "roles")
    assert result.returncode == 1
    assert "FAIL roles[web]" in result.stdout and "config.asgi_gone" in result.stdout


def test_dockerignore_rules_follow_docker(image_structure):
    rules = image_structure.ignore_rules("tests\n**/__pycache__\n*.md\n!README.md\nsaas/dev\n")
    ignored = lambda path: image_structure.is_ignored(path, rules)  # noqa: E731
    assert ignored("tests/test_x.py")  # a directory excludes everything below it
    assert not ignored("saas/tests.py")  # patterns are anchored at the context root
    assert ignored("saas/__pycache__/x.pyc") and ignored("__pycache__/y.pyc")
    assert ignored("NOTES.md") and not ignored("README.md")  # the last matching rule wins
    assert not ignored("docs/a.md")  # `*` does not cross a slash
    assert ignored("saas/dev/runner.py") and not ignored("saas/devices.py")


def test_the_assembled_tree_has_what_the_dockerfile_copies(built_root):
    app = built_root / "app"
    assert (app / "docker" / "entrypoint.py").is_file()
    assert not (app / "saas" / "dev").exists() and not (app / "Dockerfile").exists()
    assert not list(app.rglob("__pycache__"))
