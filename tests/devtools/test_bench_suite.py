"""devtools.bench_suite: `make bench` runs every script it finds and writes what they measured."""

from __future__ import annotations

import os
import textwrap

import pytest

from devtools.bench_suite import BEGIN, END, discover, run_suite
from devtools.processes import REPO_DIR

# A benchmark that reports like bench/api.py, shortened in quick mode as the real ones are.
FAKE_API = """
import json, os
quick = os.environ.get("BENCH_QUICK") == "1"
print("warming up")
print(json.dumps({"not": "the last line"}))
print(json.dumps({"api_rps": 95.0 if quick else 80.0, "plain_drf_rps": 100.0,
                  "ratio": 0.95 if quick else 0.8, "p95_ms": 3.25, "rounds": 1 if quick else 3}))

if __name__ == "__main__":
    pass
"""

FAKE_BROKEN = """
import sys
print("cannot reach the server")
if __name__ == "__main__":
    sys.exit(3)
"""

PROSE = "# Benchmarks\n\nHow each benchmark works, written by hand.\n"


@pytest.fixture
def bench_dir(tmp_path):
    directory = tmp_path / "bench"
    directory.mkdir()
    (directory / "api.py").write_text(textwrap.dedent(FAKE_API))
    (directory / "broken.py").write_text(textwrap.dedent(FAKE_BROKEN))
    (directory / "_common.py").write_text('if __name__ == "__main__":\n    pass\n')  # private helper
    (directory / "settings.py").write_text("DEBUG = False\n")  # not a script
    return directory


def test_scripts_are_found_by_file_helpers_are_not(bench_dir):
    assert [path.name for path in discover(bench_dir)] == ["api.py", "broken.py"]


def test_each_figure_is_written_beside_its_peer_and_target_and_the_prose_is_kept(bench_dir, tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(PROSE)
    scripts = [*discover(bench_dir), bench_dir / "reports.py"]  # reports.py has not landed yet

    results = run_suite(scripts, dict(os.environ), repo=REPO_DIR, doc=doc, quick=False)

    by_name = {result.script: result for result in results}
    assert by_name["api"].figures == {
        "api_rps": 80.0,
        "plain_drf_rps": 100.0,
        "ratio": 0.8,
        "p95_ms": 3.25,
        "rounds": 3,
    }
    assert by_name["broken"].status == 3
    assert by_name["broken"].error == "exit status 3: cannot reach the server"
    assert by_name["reports"].skipped
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n")
    assert "How each benchmark works, written by hand." in text
    assert "mode: full" in text
    assert "| API list req/s | 80.0 | plain DRF, gunicorn | 100.0 |  |  |" in text
    assert "| API / plain DRF | 0.800 |  |  | >= 0.900 | **not met** |" in text
    assert 'Other figures: `{"rounds": 3}`' in text
    assert "### broken" in text and "Not measured: exit status 3: cannot reach the server." in text
    assert "### reports" in text and "Not measured: no such script." in text
    assert "CPUs (" in text and "RAM" in text and "load " in text and "commit: `" in text


def test_quick_mode_reaches_every_script_and_a_rerun_replaces_the_generated_section(bench_dir, tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(PROSE)
    run_suite(discover(bench_dir), dict(os.environ), repo=REPO_DIR, doc=doc, quick=False)

    run_suite([bench_dir / "api.py"], dict(os.environ), repo=REPO_DIR, doc=doc, quick=True)

    text = doc.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert "mode: **quick**" in text
    assert "| API / plain DRF | 0.950 |  |  | >= 0.900 | met |" in text
    assert "### broken" not in text
    assert text.rstrip().endswith("How each benchmark works, written by hand.")
