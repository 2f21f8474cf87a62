"""The GitHub Classroom commands: `grade student-bundle` and `grade classroom-workflow`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from grader.batch import activity, final, roster

HELP_ASSIGNMENT = "Put only this assignment in the student build (repeatable)."
HELP_ASSIGNMENTS_DIR = (
    "Build from this assignments folder (default: the one this grader uses, or "
    "$TORCHGRADE_ASSIGNMENTS)."
)
HELP_TEMPLATE = "The template repository whose .github/workflows/classroom.yml is filled in."
HELP_URL = "Where the student wheel is published (https://...whl); needs --sha256."
HELP_SHA = "The wheel's sha256 (printed by `grade student-bundle`)."
HELP_PATH = "Keep this wheel in the template repository, under .github/torchgrade/."
BUILT = (
    "wrote {wheel}\nsha256 {sha256}\n{lines}\n"
    "It holds the visible checks only; publish it, then run "
    "`grade classroom-workflow --wheel-url URL --sha256 {sha256}`."
)
PRUNED_LINE = (
    "  {name}: {kept} visible checks ({visible:g} points); left out {dropped} ({withheld:g} points)"
)
FILLED = "filled in {workflow}: installs {wheel} (sha256 {sha256})"


@click.command(name="student-bundle")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--assignment", "-a", "assignments", multiple=True, metavar="NAME", help=HELP_ASSIGNMENT
)
@click.option(
    "--assignments-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help=HELP_ASSIGNMENTS_DIR,
)
def student_bundle(
    out_dir: Path, assignments: tuple[str, ...], assignments_dir: Path | None
) -> None:
    """Build a wheel of the grader with the visible checks only, for students and Classroom."""
    from grader import classroom_workflow, student_build
    from grader.spec import SpecError

    try:
        wheel, pruned = student_build.build(out_dir, assignments, assignments_dir)
    except (student_build.StudentBuildError, SpecError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"could not write {exc.filename}: {exc.strerror}") from None
    lines = "\n".join(
        PRUNED_LINE.format(
            name=p.name,
            kept=len(p.kept),
            visible=p.visible_points,
            dropped=len(p.dropped),
            withheld=p.withheld_points,
        )
        for p in pruned
    )
    click.echo(BUILT.format(wheel=wheel, sha256=classroom_workflow.file_sha256(wheel), lines=lines))


@click.command(name="classroom-workflow")
@click.option(
    "--template",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("student_template"),
    show_default=True,
    help=HELP_TEMPLATE,
)
@click.option("--wheel-url", default=None, metavar="URL", help=HELP_URL)
@click.option("--sha256", default=None, metavar="HASH", help=HELP_SHA)
@click.option(
    "--wheel-path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help=HELP_PATH,
)
def classroom_workflow_command(
    template: Path, wheel_url: str | None, sha256: str | None, wheel_path: Path | None
) -> None:
    """Fill in the template's Classroom workflow to install the student build, pinned by hash."""
    from grader import classroom_workflow

    try:
        workflow, wheel, digest = classroom_workflow.fill(template, wheel_url, sha256, wheel_path)
    except classroom_workflow.WorkflowError as exc:
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"could not write {exc.filename}: {exc.strerror}") from None
    click.echo(FILLED.format(workflow=workflow, wheel=wheel, sha256=digest))


HELP_DEADLINE = (
    "Grade each git repository at its last commit pushed at or before this time "
    "(ISO 8601 with a time zone, e.g. 2026-12-01T23:59+09:00)."
)
HELP_TOKEN = (
    "A GitHub token that can read the repositories: push times then come from GitHub's "
    f"activity API instead of the (forgeable) commit dates. Default: ${activity.TOKEN_ENV}."
)
HELP_API = f"GitHub API base URL (default {activity.DEFAULT_API}, or ${activity.API_ENV})."
HELP_ORG = "The organisation holding the repositories; each folder's name is the repository's."
HELP_ROSTER = "GitHub Classroom's roster export (identifier, github_username, github_id, name)."
HELP_CANVAS = "Your Canvas gradebook export; --format canvas writes it back with one column filled."
HELP_COLUMN = (
    "The Canvas column to fill: an existing 'Name (id)' header updates it; a new name adds one."
)
CANVAS_NEEDS_EXPORT = "--format canvas needs --canvas-export (your Canvas gradebook export)"
EXPORT_NEEDS_CANVAS = "--canvas-export is only used with --format canvas"
FINAL_ERRORS = (final.FinalError, roster.RosterError)


def final_grading_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The `grade batch` options for final grading of Classroom repositories."""
    options = [
        click.option("--deadline", default=None, metavar="TIME", help=HELP_DEADLINE),
        click.option(
            "--github-token",
            default=None,
            envvar=activity.TOKEN_ENV,
            show_envvar=True,
            metavar="TOKEN",
            help=HELP_TOKEN,
        ),
        click.option(
            "--github-api",
            default=activity.DEFAULT_API,
            envvar=activity.API_ENV,
            metavar="URL",
            help=HELP_API,
        ),
        click.option("--github-org", default=None, metavar="ORG", help=HELP_ORG),
        click.option(
            "--roster",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help=HELP_ROSTER,
        ),
        click.option(
            "--canvas-export",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help=HELP_CANVAS,
        ),
        click.option("--canvas-column", default="torchgrade", show_default=True, help=HELP_COLUMN),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def final_grading_settings(values: dict[str, Any], formats: tuple[str, ...]) -> final.FinalOptions:
    """FinalOptions from the parsed options; a usage error names a bad or lonely option."""
    deadline = values.get("deadline")
    parsed = final.parse_deadline(deadline) if deadline else None
    wants_canvas = "canvas" in formats
    if wants_canvas and values.get("canvas_export") is None:
        raise final.FinalError(CANVAS_NEEDS_EXPORT)
    if values.get("canvas_export") is not None and not wants_canvas:
        raise final.FinalError(EXPORT_NEEDS_CANVAS)
    return final.FinalOptions(
        deadline=parsed,
        token=values.get("github_token") or None,
        api=values.get("github_api") or activity.DEFAULT_API,
        org=values.get("github_org"),
        roster=values.get("roster"),
        canvas_export=values.get("canvas_export"),
        canvas_column=values.get("canvas_column") or "torchgrade",
    )
