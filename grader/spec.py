"""Assignment specs: `assignments/<name>/assignment.toml`, validated by pydantic.

An assignment is self-contained in its folder; the grader finds it here and needs no code
change for a new one.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from grader.report import Visibility

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SPEC_FILE = "assignment.toml"
PROBES_FILE = "probes.py"
CHECKS_DIR = "checks"
MUTANTS_DIR = "mutants"
ASSIGNMENTS_ENV = "TORCHGRADE_ASSIGNMENTS"


class SpecError(Exception):
    """An assignment spec is unusable; the message names the file and the field."""


class Clause(BaseModel):
    """One numbered sentence of an exercise's contract: what students are promised or asked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", description="Stable, kebab-case.")
    text: str = Field(min_length=1, description="The sentence, in English, as students read it.")
    text_ko: str = Field("", description="The same sentence in Korean.")
    kind: Literal["requires", "permits"] = Field(
        "requires",
        description="'requires': a rule a check enforces and a mutant breaks. 'permits': "
        "a freedom the contract grants (any initialisation, model.zero_grad()); a correct "
        "variant that uses it proves it instead (its docstring says 'permits: <id>').",
    )


class Ambiguity(BaseModel):
    """Mutants whose mistakes give the same numbers on every input a check can choose.

    Declared as `[[ambiguous]]` with `mutants = ["a", "b"]` and a `reason`: each of these
    mutants' hints may then appear in the others' feedback (the hint should name both
    mistakes). Any other known-mistake hint that fires on another mutant fails the hint
    matrix of `grade reference`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mutants: tuple[str, ...] = Field(min_length=2, description="Mutant names (file stems).")
    reason: str = Field(min_length=1, description="Why no input tells these mistakes apart.")


class AssignmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    student_file: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.py$")
    points: float = Field(gt=0)
    timeout: float = Field(10.0, gt=0, le=600, description="Seconds per probe call.")
    visibility: Visibility = "visible"
    order: int = 100
    clauses: tuple[Clause, ...] = Field(
        (), description="The contract, clause by clause ([[clauses]] tables, in order)."
    )
    ambiguous: tuple[Ambiguity, ...] = Field(
        (), description="Mutant pairs whose hints may coincide ([[ambiguous]] tables)."
    )
    name: str = ""
    folder: Path = Path()

    @field_validator("title")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("clauses")
    @classmethod
    def _unique_clause_ids(cls, value: tuple[Clause, ...]) -> tuple[Clause, ...]:
        seen: set[str] = set()
        for clause in value:
            if clause.id in seen:
                raise ValueError(f"clause id {clause.id!r} appears twice")
            seen.add(clause.id)
        return value

    def ambiguous_with(self, mutant: str) -> set[str]:
        """The mutants declared indistinguishable from `mutant` (never itself)."""
        return {m for group in self.ambiguous if mutant in group.mutants for m in group.mutants} - {
            mutant
        }

    def clause(self, clause_id: str) -> Clause:
        for clause in self.clauses:
            if clause.id == clause_id:
                return clause
        raise KeyError(clause_id)

    @property
    def module_name(self) -> str:
        return self.student_file.removesuffix(".py")

    @property
    def probes_path(self) -> Path:
        return self.folder / PROBES_FILE

    @property
    def checks_dir(self) -> Path:
        return self.folder / CHECKS_DIR

    @property
    def mutants_dir(self) -> Path:
        return self.folder / MUTANTS_DIR


def assignments_root() -> Path:
    """Where the assignment folders live: an override, the source checkout, or the wheel."""
    import os

    override = os.environ.get(ASSIGNMENTS_ENV)
    if override:
        return Path(override).resolve()
    import grader

    package_dir = Path(grader.__file__).resolve().parent
    installed = package_dir / "_assignments"
    if installed.is_dir():
        return installed
    return package_dir.parent / "assignments"


def load_spec(folder: Path) -> AssignmentSpec:
    spec_path = folder / SPEC_FILE
    try:
        raw = tomllib.loads(spec_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{spec_path}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{spec_path}: not valid TOML ({exc})") from None
    for reserved in ("name", "folder"):
        if reserved in raw:
            raise SpecError(f"{spec_path}: field '{reserved}' is set by the grader, remove it")
    try:
        return AssignmentSpec(**raw, name=folder.name, folder=folder)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}" for err in exc.errors()
        )
        raise SpecError(f"{spec_path}: {problems}") from None


@cache
def _discover(root: Path) -> tuple[AssignmentSpec, ...]:
    specs = [load_spec(sub) for sub in sorted(root.iterdir()) if (sub / SPEC_FILE).is_file()]
    return tuple(sorted(specs, key=lambda s: (s.order, s.name)))


def discover(root: Path | None = None) -> list[AssignmentSpec]:
    """All assignments, in their declared order."""
    return list(_discover((root or assignments_root()).resolve()))


def select(names: tuple[str, ...] | list[str], root: Path | None = None) -> list[AssignmentSpec]:
    """The named assignments (all when none are named); unknown names raise `KeyError`."""
    specs = discover(root)
    if not names:
        return specs
    by_name = {s.name: s for s in specs}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise KeyError(", ".join(unknown))
    return [s for s in specs if s.name in set(names)]
