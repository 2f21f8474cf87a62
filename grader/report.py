"""The `Report` model: the single source of truth every output format is rendered from.

Field names here are a published contract (report.json); add fields, never rename them.
Bump `SCHEMA_VERSION` on any incompatible change.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 2

Category = Literal["api", "shapes", "values", "gradients", "convergence"]
Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]
CheckStatus = Literal["passed", "failed", "error", "timeout", "skipped", "not_run"]
AssignmentStatus = Literal["graded", "missing", "error"]

CATEGORIES: tuple[str, ...] = ("api", "shapes", "values", "gradients", "convergence")
VISIBILITIES: tuple[str, ...] = ("visible", "hidden", "after_due_date", "after_published")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


MAX_CURVES_PER_CHECK = 4
MAX_CURVE_POINTS = 400
MAX_WORST_ENTRIES = 5
NonFinite = Literal["NaN", "Infinity", "-Infinity"]
CurvePoint = float | NonFinite | None


def _point(value: object) -> object:
    """A non-finite float as the string JSON can carry; anything else unchanged."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


class Curve(_Model):
    """A trajectory a check compared (losses per epoch, a parameter per step), for a chart.

    Bounded: at most `MAX_CURVE_POINTS` points per series (longer ones are thinned, always
    keeping the first, the last and the first divergence); `x` gives each point's position.
    """

    label: str = Field(description="What is plotted, e.g. 'loss per epoch'.")
    x_label: str = "epoch"
    x: list[int] = Field(default_factory=list, description="Position of each point (1-based).")
    actual: list[CurvePoint] = Field(default_factory=list, description="The student's values.")
    expected: list[CurvePoint] = Field(
        default_factory=list, description="The expected values at the same positions, if any."
    )
    diverges_at: int | None = Field(
        None, description="The position (an entry of x) where the curves first part, if they do."
    )

    @field_validator("actual", "expected", mode="before")
    @classmethod
    def _non_finite_as_text(cls, value: object) -> object:
        return [_point(v) for v in value] if isinstance(value, list) else value


class WorstEntry(_Model):
    """One entry of a value mismatch: where, what came back, what was expected."""

    index: str = Field(description="The entry's index, e.g. '(2, 0)'.")
    actual: CurvePoint
    expected: CurvePoint

    @field_validator("actual", "expected", mode="before")
    @classmethod
    def _non_finite_as_text(cls, value: object) -> object:
        return _point(value)


class CheckResult(_Model):
    """The verdict of one check, decided in the judge."""

    id: str = Field(description="Stable id: '<assignment>::<function name>'.")
    name: str = Field(description="What the check verifies, in one sentence a student reads.")
    category: Category
    status: CheckStatus
    score: float
    max_score: float
    message: str = Field("", description="Why it failed, and what to try; empty when passed.")
    hint: str = Field("", description="A hint for a known, common mistake, when one matched.")
    visibility: Visibility = "visible"
    duration_s: float = 0.0
    output: str = Field("", description="Tail of what the student code printed during the check.")
    curves: list[Curve] = Field(
        default_factory=list,
        max_length=MAX_CURVES_PER_CHECK,
        description="Trajectories the check compared, as data for charts (bounded).",
    )
    worst: list[WorstEntry] = Field(
        default_factory=list,
        max_length=MAX_WORST_ENTRIES,
        description="For a value mismatch: the entries furthest from the expected ones.",
    )
    clauses: list[str] = Field(
        default_factory=list,
        description="The contract clauses (ids in the assignment's spec) this check covers.",
    )
    cause: str = Field(
        "",
        description="A root cause shared by the assignment ('import', 'missing:<name>', "
        "'import-timeout'), set when the failure is not this check's own.",
    )


class AssignmentResult(_Model):
    name: str
    title: str
    file: str = Field(description="The student file this assignment grades.")
    status: AssignmentStatus
    score: float
    max_score: float
    message: str = ""
    checks: list[CheckResult] = Field(default_factory=list)
    withheld_points: float = Field(
        0.0, description="Points in checks this (student) build leaves out: graded at the end."
    )
    notebook: str = Field("", description="The notebook this assignment's code came from, if any.")
    notes: list[str] = Field(
        default_factory=list, description="What a student should know about the graded code."
    )


class FileInfo(_Model):
    path: str = Field(description="Path relative to the submission folder.")
    size: int
    sha256: str
    name_hex: str = Field(
        "",
        description="The path's raw bytes in hex, set when `path` shows it escaped: it is not "
        "UTF-8, or holds control, bidi or invisible characters.",
    )


class LeftOut(_Model):
    """A notebook cell, or a statement in one, that grading did not run."""

    cell: int = Field(description="The cell's position in the notebook, counting from 1.")
    first_line: str = Field(description="The cell's first line, to find it without cell numbers.")
    statement: str = Field("", description="The first line of the statement left out.")
    reason: str = Field(
        description="experiment, unused (a definition nothing graded needs), magic, skipped"
        " or syntax."
    )


class NotebookInfo(_Model):
    """How a submitted notebook was read: which assignments it provided, what was left out."""

    path: str
    assignments: list[str] = Field(default_factory=list)
    left_out: list[LeftOut] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Submission(_Model):
    path: str
    files: list[FileInfo] = Field(default_factory=list)
    content_hash: str = Field("", description="sha256 over the graded files' names and hashes.")
    problems: list[str] = Field(
        default_factory=list, description="Files that were skipped while staging, and why."
    )
    notebooks: list[NotebookInfo] = Field(
        default_factory=list, description="Notebooks read as code, and what was left out of them."
    )


class IntegrityFinding(_Model):
    """A construct an honest solution has no reason to use. A signal for humans, not a score."""

    file: str
    line: int
    code: str
    reason: str


class Environment(_Model):
    grader_version: str
    python_version: str
    torch_version: str
    platform: str
    protections: dict[str, str] = Field(
        default_factory=dict,
        description="Each sandbox protection and whether it was active ('on', or why it is off).",
    )
    checks_hash: str = Field(
        "", description="sha256 over the assignments folder (specs, probes, checks, messages)."
    )
    lazy_imports: dict[str, str] = Field(
        default_factory=dict,
        description="torch imports eager grading defers ('deferred'), or why they are paid.",
    )
    hidden_accelerators: dict[str, str] = Field(
        default_factory=dict,
        description="Variables set to hide GPUs from the grading process (grading is on the CPU).",
    )


class Revision(_Model):
    """Which commit of a git repository was graded, and how its time is known."""

    commit: str = Field(description="The graded commit's sha.")
    time: str = Field("", description="When it was pushed (or committed, if unverified), ISO 8601.")
    time_source: Literal["push", "commit"] = Field(
        "commit", description="push: GitHub's activity API; commit: the commit date (forgeable)."
    )
    verified: bool = Field(False, description="True when the time comes from GitHub's pushes.")
    later_pushes: bool = Field(False, description="Pushes (or commits) after the deadline exist.")
    deadline: str = ""
    ref: str = ""


class Report(_Model):
    schema_version: int = SCHEMA_VERSION
    tool: str = "torchgrade"
    score: float = 0.0
    max_score: float = 0.0
    complete: bool = Field(False, description="False while grading is still running or was cut.")
    lang: str = "en"
    seed: int = 0
    started_at: str = ""
    duration_s: float = 0.0
    assignments: list[AssignmentResult] = Field(default_factory=list)
    submission: Submission
    environment: Environment
    integrity: list[IntegrityFinding] = Field(default_factory=list)
    withheld_points: float = Field(
        0.0, description="Points in checks left out of a student build (sum over assignments)."
    )
    revision: Revision | None = Field(None, description="The git commit graded, in a batch.")

    def recompute(self) -> None:
        """Derive every score from the checks, so totals can never disagree with verdicts."""
        for assignment in self.assignments:
            assignment.score = round(sum(c.score for c in assignment.checks), 6)
        self.score = round(sum(a.score for a in self.assignments), 6)
        self.max_score = round(sum(a.max_score for a in self.assignments), 6)
        self.withheld_points = round(sum(a.withheld_points for a in self.assignments), 6)

    def assignment(self, name: str) -> AssignmentResult:
        for assignment in self.assignments:
            if assignment.name == name:
                return assignment
        raise KeyError(name)


def report_json_schema() -> dict[str, object]:
    return Report.model_json_schema()
