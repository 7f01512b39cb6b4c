import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_script(relative: str) -> ModuleType:
    """Import a standalone script (scripts/, docker/) by path: they are not packages."""
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def image_structure() -> ModuleType:
    return load_script("scripts/image_structure.py")


@pytest.fixture(scope="session")
def entrypoint() -> ModuleType:
    return load_script("docker/entrypoint.py")
