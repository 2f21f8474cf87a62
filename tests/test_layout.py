"""The layout shows the architecture: no import cycle in grader/, and imports run one way.

Every import counts, including those inside functions and under TYPE_CHECKING, so a cycle
cannot hide in a late import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GRADER = Path(__file__).resolve().parent.parent / "grader"

# Layers, lowest first: a module may import its own layer and the ones below, never above.
LAYERS: dict[str, int] = {
    "grader.sandbox": 0,
    "grader.judge": 1,
    "grader.checks": 1,
    "grader.catalog": 1,
    "grader.preload": 2,
    "grader.environment": 2,
    "grader.engine": 3,
    "grader.batch": 4,
    "grader.validation": 4,
    "grader.cli": 5,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(GRADER.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in GRADER.rglob("*.py")}


def _imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Every grader module that `path` imports, resolving `from pkg import submodule`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name.startswith("grader"):
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(path, known) - {name} for name, path in known.items()}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def _layer(module: str) -> int | None:
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def test_cycle_finder_finds_a_planted_cycle() -> None:
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_grader() -> None:
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_imports_run_one_way() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if (low := _layer(module)) is not None
        and (high := _layer(target)) is not None
        and high > low
    )
    assert upward == []


@pytest.mark.parametrize(
    "module", ["zygote", "protections", "landlock", "seccomp", "linux", "wire", "staging"]
)
def test_code_that_runs_or_fences_student_code_lives_in_sandbox(module: str) -> None:
    assert (GRADER / "sandbox" / f"{module}.py").is_file()
    assert not (GRADER / f"{module}.py").exists()


@pytest.mark.parametrize("module", ["runner", "workers", "dask_executor", "gradebook", "archives"])
def test_class_scale_grading_lives_in_batch(module: str) -> None:
    assert (GRADER / "batch" / f"{module}.py").is_file()
    assert not (GRADER / f"{module}.py").exists()
