"""The GitHub Classroom commands: `grade student-bundle` and `grade classroom-workflow`."""

from __future__ import annotations

from pathlib import Path

import click

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
