"""The import graph runs one way, and every project error hangs from one root.

dags, pipeline.cli -> pipeline.run / pipeline.steps / pipeline.rights -> pipeline.release /
sources / settings / demo -> expectations -> transforms. Imports inside functions count too:
a lazy import upward is still a dependency upward.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from project_errors import project_errors

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("transforms", "expectations", "pipeline", "dags")
LAYERS = {
    "transforms": 0,
    "expectations": 1,
    "pipeline.settings": 2,
    "pipeline.sources": 2,
    "pipeline.release": 2,
    "pipeline.demo": 2,
    "pipeline.run": 3,
    "pipeline.steps": 3,
    "pipeline.rights": 3,
    "pipeline.cli": 4,
    "dags": 4,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for package in PACKAGES
        for p in (REPO / package).rglob("*.py")
        if "suites" not in p.parts
    }


def _layer(module: str) -> int | None:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYERS[prefix]
    return None


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Project modules ``path`` imports (``from pkg import mod`` counts as ``pkg.mod``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found & modules


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    names = set(modules)
    return {name: _imports(path, names) - {name} for name, path in modules.items()}


def test_every_module_sits_in_a_layer() -> None:
    unplaced = [m for m in _modules() if _layer(m) is None and m not in ("pipeline",)]
    assert unplaced == []


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = [
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        if (_layer(target) or 0) > (_layer(module) or 0)
    ]
    assert upward == []


def test_the_module_graph_has_no_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_every_project_exception_derives_from_the_root() -> None:
    from transforms.errors import AnonreleaseError, FinalError, TransientError

    classes = project_errors()
    assert len(classes) > 30
    strays = [c.__qualname__ for c in classes if not issubclass(c, AnonreleaseError)]
    assert strays == []
    unmarked = [
        c.__qualname__
        for c in classes
        if c not in (AnonreleaseError,) and not issubclass(c, FinalError | TransientError)
    ]
    assert unmarked == []


@pytest.mark.parametrize(
    "name",
    [
        "PrivacyModelError",
        "LatticeTooLargeError",
        "SuiteConfigError",
        "ValuesOutsideDomainError",
        "CellRuleConfigError",
        "UnknownMetricError",
    ],
)
def test_errors_the_old_retry_list_missed_are_final(name: str) -> None:
    from transforms.errors import FinalError

    matches = [c for c in project_errors() if c.__name__ == name]
    assert matches and all(issubclass(c, FinalError) for c in matches)
