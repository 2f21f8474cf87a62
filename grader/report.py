"""The `Report` model: the single source of truth every output format is rendered from.

Field names here are a published contract (report.json); add fields, never rename them.
Bump `SCHEMA_VERSION` on any incompatible change.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Category = Literal["api", "shapes", "values", "gradients", "convergence"]
Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]
CheckStatus = Literal["passed", "failed", "error", "timeout", "skipped"]
AssignmentStatus = Literal["graded", "missing", "error"]

CATEGORIES: tuple[str, ...] = ("api", "shapes", "values", "gradients", "convergence")
VISIBILITIES: tuple[str, ...] = ("visible", "hidden", "after_due_date", "after_published")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class FileInfo(_Model):
    path: str = Field(description="Path relative to the submission folder.")
    size: int
    sha256: str


class Submission(_Model):
    path: str
    files: list[FileInfo] = Field(default_factory=list)
    content_hash: str = Field("", description="sha256 over the graded files' names and hashes.")
    problems: list[str] = Field(
        default_factory=list, description="Files that were skipped while staging, and why."
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
    hidden_accelerators: dict[str, str] = Field(
        default_factory=dict,
        description="Variables set to hide GPUs from the grading process (grading is on the CPU).",
    )


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

    def recompute(self) -> None:
        """Derive every score from the checks, so totals can never disagree with verdicts."""
        for assignment in self.assignments:
            assignment.score = round(sum(c.score for c in assignment.checks), 6)
        self.score = round(sum(a.score for a in self.assignments), 6)
        self.max_score = round(sum(a.max_score for a in self.assignments), 6)

    def assignment(self, name: str) -> AssignmentResult:
        for assignment in self.assignments:
            if assignment.name == name:
                return assignment
        raise KeyError(name)


def report_json_schema() -> dict[str, object]:
    return Report.model_json_schema()
