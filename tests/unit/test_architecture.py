"""The shape of the code, checked: layers import downwards only, no import cycle, small modules.

Read from the source with ``ast`` (no import runs), so a violation fails here before it hides
behind a lazy import inside a function.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("assistant", "ingest", "ui", "evals")
# What each top-level package may import from the project (besides itself).
ALLOWED = {
    "assistant": set(),
    "ingest": {"assistant"},
    "evals": {"assistant", "ingest", "ui"},  # evals measure the front ends too
    "ui": {"assistant", "ingest"},
}
# The command line is the one front end that wires everything, the evals included: it sits on
# top, so nothing imports it.
WIRING_PREFIX = "ui.cli"  # ui/cli.py and the sub-command modules it is split into
WIRING = {"assistant", "ingest", "evals"}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Project modules ``name`` imports anywhere in its body (function-level ones included)."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_layers_import_downwards_only():
    wrong = []
    for name, targets in GRAPH.items():
        top = name.split(".")[0]
        wiring = name == WIRING_PREFIX or name.startswith(WIRING_PREFIX + "_")
        allowed = {top} | (WIRING if wiring else ALLOWED[top])
        wrong += [f"{name} -> {t}" for t in sorted(targets) if t.split(".")[0] not in allowed]
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_no_import_cycle():
    # A package's __init__ importing its own modules is not a cycle of logic; leave it out.
    graph = {
        n: {t for t in ts if not n.startswith(t + ".") and not t.startswith(n + ".")}
        for n, ts in GRAPH.items()
    }
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


@pytest.mark.parametrize("package", ["assistant", "ingest", "ui"])
def test_modules_stay_small(package):
    big = {
        str(p.relative_to(ROOT)): n
        for name, p in MODULES.items()
        if name.split(".")[0] == package
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not big, f"modules over {MAX_LINES} lines: {big}"


def test_the_checker_sees_imports():
    # The rules above pass vacuously if the graph is empty or misses lazy imports.
    assert "assistant.core.answer" in GRAPH["assistant.pipeline"]
    assert "assistant.generation.loader" in GRAPH["assistant.components"]  # inside a function
