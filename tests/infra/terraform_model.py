"""terraform/ parsed with python-hcl2 into plain Python: quotes stripped, bookkeeping keys dropped.

python-hcl2 keeps string literals quoted (`'"INGRESS"'`) and expressions as `${...}`; `plain()`
turns the first into `INGRESS` and leaves the second as written, so a test can tell a literal
from a reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

from tests.infra.conftest import REPO

TERRAFORM = REPO / "terraform"


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {plain(key): plain(item) for key, item in value.items() if not str(key).startswith("__")}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@dataclass(frozen=True)
class Block:
    kind: str  # resource, module, variable, output, ...
    type: str  # resource type ("" for modules and variables)
    name: str
    body: dict
    path: Path

    @property
    def module(self) -> str:
        return self.path.parent.relative_to(TERRAFORM).as_posix()


def tf_files() -> list[Path]:
    return sorted(path for path in TERRAFORM.rglob("*.tf") if ".terraform" not in path.parts)


@cache
def parsed(path: Path) -> dict:
    with path.open() as handle:
        return plain(hcl2.load(handle))


@cache
def blocks() -> tuple[Block, ...]:
    found = []
    for path in tf_files():
        document = parsed(path)
        for entry in document.get("resource", []):
            for resource_type, named in entry.items():
                for name, body in named.items():
                    found.append(Block("resource", resource_type, name, body, path))
        for kind in ("module", "variable", "output", "ephemeral", "data"):
            for entry in document.get(kind, []):
                for key, body in entry.items():
                    if kind in ("ephemeral", "data"):
                        for name, inner in body.items():
                            found.append(Block(kind, key, name, inner, path))
                    else:
                        found.append(Block(kind, "", key, body, path))
    return tuple(found)


def resources(resource_type: str) -> list[Block]:
    return [block for block in blocks() if block.kind == "resource" and block.type == resource_type]


def module_locals(module: str) -> dict:
    merged: dict = {}
    for path in (TERRAFORM / module).glob("*.tf"):
        for entry in parsed(path).get("locals", []):
            merged.update(entry)
    return merged


def variable(module: str, name: str) -> dict:
    matches = [
        block.body
        for block in blocks()
        if block.kind == "variable" and block.module == module and block.name == name
    ]
    assert matches, f"{module} has no variable {name}"
    return matches[0]


def module_call(module: str, name: str) -> dict:
    matches = [
        block.body
        for block in blocks()
        if block.kind == "module" and block.module == module and block.name == name
    ]
    assert matches, f"{module} calls no module {name}"
    return matches[0]


def resolve(value: Any, module: str) -> Any:
    """`${local.x}` or `${var.x}` (with a default) in `module`, resolved one level; else as is."""
    if isinstance(value, list):
        resolved = [resolve(item, module) for item in value]
        return [inner for item in resolved for inner in (item if isinstance(item, list) else [item])]
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{local\.(\w+)\}", value)
        if match:
            return module_locals(module)[match[1]]
        match = re.fullmatch(r"\$\{var\.(\w+)\}", value)
        if match and "default" in variable(module, match[1]):
            return variable(module, match[1])["default"]
    return value


def source_text(module: str) -> str:
    return "\n".join(path.read_text() for path in sorted((TERRAFORM / module).glob("*.tf")))
