"""`grade list`: collect the checks (without running them) and show their metadata."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest

from grader.checks import CHECK_MARKER
from grader.judge import CheckMeta, JudgeOptions, check_meta, pytest_arguments
from grader.spec import AssignmentSpec, assignments_root


class _Collector:
    def __init__(self, specs: list[AssignmentSpec], root: Path) -> None:
        self.specs = {s.name: s for s in specs}
        self.root = root
        self.checks: list[CheckMeta] = []
        self.errors: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(f"{report.fspath}: {str(report.longrepr)[-500:]}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if isinstance(item, pytest.Function) and item.get_closest_marker(CHECK_MARKER):
                name = item.path.resolve().relative_to(self.root).parts[0]
                self.checks.append(check_meta(item, self.specs[name], JudgeOptions()))


def collect(specs: list[AssignmentSpec]) -> tuple[list[AssignmentSpec], list[CheckMeta]]:
    root = assignments_root()
    collector = _Collector(specs, root)
    with tempfile.TemporaryDirectory() as scratch:
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\n")
        previous = os.environ.pop("PYTEST_ADDOPTS", None)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                pytest.main(
                    [*pytest_arguments(specs, root, ini), "--collect-only"], plugins=[collector]
                )
        finally:
            if previous is not None:
                os.environ["PYTEST_ADDOPTS"] = previous
    if collector.errors:
        raise RuntimeError("\n".join(collector.errors))
    order = {s.name: i for i, s in enumerate(specs)}
    collector.checks.sort(key=lambda c: order[c.assignment])
    return specs, collector.checks


def clause_lines(spec: AssignmentSpec, checks: list[CheckMeta]) -> list[str]:
    """The exercise's clauses, each with its text and the checks that cover it."""
    if not spec.clauses:
        return ["  clauses: none declared"]
    lines = [f"  clauses ({len(spec.clauses)}):"]
    for clause in spec.clauses:
        covering = [c.name_in_file for c in checks if clause.id in c.clauses]
        kind = " (permits)" if clause.kind == "permits" else ""
        lines.append(f"    {clause.id}{kind}: {' '.join(clause.text.split())}")
        lines.append("      covered by: " + (", ".join(covering) or "no check"))
    known = {c.id for c in spec.clauses}
    for check in checks:
        unknown = [c for c in check.clauses if c not in known]
        if unknown:
            lines.append(f"    ! {check.name_in_file} covers unknown clause {', '.join(unknown)}")
    return lines


def render(collected: tuple[list[AssignmentSpec], list[CheckMeta]]) -> str:
    specs, checks = collected
    lines = []
    width = max((len(c.id) for c in checks), default=0)
    for spec in specs:
        mine = [c for c in checks if c.assignment == spec.name]
        total = sum(c.points for c in mine)
        warning = "" if abs(total - spec.points) < 1e-9 else f"  (spec says {spec.points:g}!)"
        lines.append(
            f"{spec.name}: {spec.title}  [{spec.student_file}, {total:g} points]" + warning
        )
        for c in mine:
            lines.append(
                f"  {c.id:<{width}}  {c.category:<12} {c.points:>5g}  {c.visibility:<15} "
                f"{c.timeout:g}s"
            )
        lines.extend(clause_lines(spec, mine))
        lines.append("")
    lines.append(f"total: {sum(c.points for c in checks):g} points in {len(checks)} checks")
    return "\n".join(lines) + "\n"
