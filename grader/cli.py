"""The `grade` command line. Thin: it parses options, calls the engine and writes reports."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from grader import __version__, capacity
from grader.atomic import write_atomic
from grader.batch import runner as batch_run
from grader.cli_classroom import FINAL_ERRORS, final_grading_options, final_grading_settings
from grader.formats import json_report, registry, terminal
from grader.formats.text import inert_name
from grader.messages import LANGUAGES
from grader.report import Report
from grader.spec import SpecError

DEFAULT_OUT = "grade-report"
HELP_ASSIGNMENT = "Grade only this assignment (repeatable). See `grade list`."
HELP_OUT = "Folder for report.json and the other formats."
HELP_TIMEOUT = "Seconds allowed per probe call, overriding every assignment's own timeout."
HELP_SEED = "Base seed; each check derives its own seed from it and its id."
HELP_LANG = "Language of the feedback messages."
HELP_MEMORY = "Memory each probe call may use on top of the sandbox's own, in MiB."
HELP_FORMAT = (
    "Also write this format into OUT (repeatable): classroom (GitHub Classroom result and job "
    "summary), gradescope (results.json), junit (junit.xml), markdown (report.md). "
    "report.json is always written."
)
HELP_STUDENT = (
    "--student renders every format for students (hidden checks redacted); --instructor shows "
    "everything. Default: the student view for classroom, gradescope and markdown (and for the "
    "terminal with classroom or gradescope, whose logs students read); instructor view for junit."
)
HELP_MUTANTS = "Also grade every mutant in assignments/<name>/mutants/ (the default)."
HELP_FULL = "Regrade every assignment for every mutant, not only the mutant's own."
HELP_VARIANTS = "Also grade the correct variants, which must get full marks (the default)."
HELP_JOBS = "Gradings to run at once (default: the number of CPUs, at most 8)."
HELP_WATCH_STUDENT = "Show what a student sees (the default), or everything (--instructor)."
HELP_SUBMIT_JOBS = (
    "Exercises to grade at once, each in its own sandbox and judge (default: the CPUs this "
    "process may use, as memory allows). --jobs 1 grades one after another."
)
UNKNOWN_ASSIGNMENT = "unknown assignment {names}; known: {known}"
WRITE_FAILED = "could not write {path}: {reason}"
OUT_UNUSABLE = "--out {path}: cannot write reports there ({reason})"
INTERRUPTED = "interrupted; the partial report is in {path}"
OUT_IS_SUBMISSION = "--out {path} is the submission folder itself: choose another folder"
HELP_BUNDLE_ASSIGNMENT = "Grade only this assignment on Gradescope (repeatable)."
HELP_BUNDLE_INSTRUCTOR = (
    "Keep hidden checks' names and messages in results.json for staff (Gradescope still hides "
    "those tests from students)."
)
BUNDLE_WRITTEN = "wrote {path}: {names}. Upload it as the autograder of a Gradescope assignment."


class DefaultToSubmit(click.Group):
    """`grade PATH` means `grade submit PATH`; a subcommand's exact name wins."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["submit", *args]
        return super().parse_args(ctx, args)


def _color_enabled() -> bool:
    return terminal.color_enabled(sys.stdout, os.environ)


def _specs(names: tuple[str, ...]) -> list[Any]:
    from grader import spec

    try:
        return spec.select(names)
    except KeyError as exc:
        known = ", ".join(s.name for s in spec.discover())
        raise click.UsageError(
            UNKNOWN_ASSIGNMENT.format(names=exc.args[0], known=known),
        ) from None
    except SpecError as exc:
        raise click.ClickException(str(exc)) from None


def usable_out(out: Path) -> Path:
    """Create the --out folder and prove it writable before any grading starts."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise click.UsageError(
            OUT_UNUSABLE.format(path=out, reason=exc.strerror or type(exc).__name__)
        ) from None
    return out


def _writer(out: Path) -> Any:
    def write(report: Report) -> None:
        write_atomic(out / json_report.FILENAME, json_report.render(report))

    return write


assignment_option = click.option(
    "--assignment", "-a", "assignments", multiple=True, metavar="NAME", help=HELP_ASSIGNMENT
)
timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=600),
    default=None,
    metavar="S",
    help=HELP_TIMEOUT,
)
seed_option = click.option("--seed", type=int, default=0, show_default=True, help=HELP_SEED)
memory_option = click.option(
    "--memory-limit",
    type=click.IntRange(min=64, max=1 << 20),
    default=None,
    metavar="MIB",
    help=HELP_MEMORY,
)
lang_option = click.option(
    "--lang", type=click.Choice(LANGUAGES), default="en", show_default=True, help=HELP_LANG
)


@click.group(cls=DefaultToSubmit, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="torchgrade")
def main() -> None:
    """Grade PyTorch exercises in a sandbox. `grade PATH` is short for `grade submit PATH`."""
    from grader.sandbox import accelerators

    accelerators.hide()


@main.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@assignment_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help=HELP_OUT,
)
@timeout_option
@seed_option
@lang_option
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(registry.NAMES),
    metavar="FORMAT",
    help=HELP_FORMAT,
)
@click.option("--student/--instructor", "student", default=None, help=HELP_STUDENT)
@memory_option
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help=HELP_SUBMIT_JOBS)
def submit(
    path: Path,
    assignments: tuple[str, ...],
    out: Path,
    timeout: float | None,
    seed: int,
    lang: str,
    formats: tuple[str, ...],
    student: bool | None,
    memory_limit: int | None,
    jobs: int | None,
) -> None:
    """Grade the submission folder PATH and write OUT/report.json (plus any --format)."""
    from grader.engine import GradeOptions, grade

    if out.resolve() == path.resolve():
        raise click.UsageError(OUT_IS_SUBMISSION.format(path=inert_name(str(out))))
    specs = _specs(assignments)
    options = GradeOptions.build(timeout, seed, lang, memory_limit)
    options.jobs = capacity.grading_jobs(len(specs), options.limits.memory_bytes, jobs)
    latest: list[Report] = []
    write = _writer(usable_out(out))

    def on_update(report: Report) -> None:
        latest[:] = [report]
        write(report)

    try:
        report = grade(path.resolve(), specs, options, on_update)
    except KeyboardInterrupt:
        if latest:
            write(latest[0])
        click.echo(INTERRUPTED.format(path=out / json_report.FILENAME), err=True)
        sys.exit(130)
    try:
        written = registry.write(report, out, formats, student, os.environ)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise click.ClickException(WRITE_FAILED.format(path=exc.filename, reason=reason)) from None
    view = registry.terminal_student_view(formats, student)
    width = terminal.terminal_width(sys.stdout)
    click.echo(terminal.render(report, _color_enabled(), view, width), nl=False)
    click.echo(f"report: {out / json_report.FILENAME}")
    for file in written:
        click.echo(f"wrote: {file}")


@main.command(name="batch")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help=batch_run.HELP_JOBS)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=batch_run.DEFAULT_OUT,
    show_default=True,
    help=batch_run.HELP_OUT,
)
@assignment_option
@timeout_option
@seed_option
@lang_option
@click.option("--resume/--no-resume", default=True, show_default=True, help=batch_run.HELP_RESUME)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(batch_run.available_formats()),
    help=batch_run.HELP_FORMAT,
)
@click.option(
    "--executor",
    type=click.Choice(batch_run.EXECUTORS),
    default="local",
    show_default=True,
    help=batch_run.HELP_EXECUTOR,
)
@click.option("--scheduler", metavar="ADDRESS", default=None, help=batch_run.HELP_SCHEDULER)
@memory_option
@final_grading_options
def batch_command(
    root: Path,
    jobs: int | None,
    out: Path,
    assignments: tuple[str, ...],
    timeout: float | None,
    seed: int,
    lang: str,
    resume: bool,
    formats: tuple[str, ...],
    executor: str,
    scheduler: str | None,
    memory_limit: int | None,
    **final_options: Any,
) -> None:
    """Grade every submission in ROOT (one folder or archive per student); write a gradebook."""
    if scheduler and executor != "dask":
        raise click.UsageError(batch_run.SCHEDULER_NEEDS_DASK)
    if executor == "dask" and not batch_run.dask_available():
        raise click.UsageError(batch_run.DASK_MISSING)
    try:
        settings = final_grading_settings(final_options, formats)
    except FINAL_ERRORS as exc:
        raise click.UsageError(str(exc)) from None
    problem = batch_run.out_problem(root, out)
    if problem is not None:
        raise click.UsageError(problem)
    options = batch_run.BatchOptions(
        root=root.resolve(),
        out=usable_out(out).resolve(),
        jobs=jobs or capacity.usable_cpus(),
        assignments=assignments,
        timeout=timeout,
        seed=seed,
        lang=lang,
        resume=resume,
        formats=formats,
        executor=executor,
        scheduler=scheduler,
        memory_limit=memory_limit,
        final=settings,
    )
    runner = batch_run.Batch(options, _specs(assignments), sys.stderr, sys.stderr.isatty())
    try:
        code = runner.run()
    except batch_run.NoSubmissions as exc:
        raise click.UsageError(str(exc)) from None
    except batch_run.BatchWorkerFailed as exc:
        raise click.ClickException(str(exc)) from None
    except FINAL_ERRORS as exc:
        raise click.UsageError(str(exc)) from None
    sys.exit(code)


@main.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@assignment_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help=HELP_OUT,
)
@timeout_option
@seed_option
@lang_option
@click.option("--student/--instructor", "student", default=True, help=HELP_WATCH_STUDENT)
@memory_option
def watch(
    path: Path,
    assignments: tuple[str, ...],
    out: Path,
    timeout: float | None,
    seed: int,
    lang: str,
    student: bool,
    memory_limit: int | None,
) -> None:
    """Grade PATH, then regrade each exercise whose file changes, until Ctrl-C."""
    from grader import watch as watching
    from grader.formats import views
    from grader.messages import say, set_language

    set_language(lang)
    specs = _specs(assignments)
    options = {"timeout": timeout, "seed": seed, "lang": lang, "memory_limit": memory_limit}
    watcher = watching.Watcher(path.resolve(), specs, usable_out(out), options)
    color = _color_enabled()

    def show_first(report: Report) -> None:
        click.echo(terminal.render(report, color=color, student=student), nl=False)
        click.echo(say("watch_ready", path=path))

    def show_regrade(
        files: list[str], report: Report, changes: watching.Changes, seconds: float
    ) -> None:
        names = ", ".join(s.name for s in watching.affected(specs, set(files)))
        score = views.points(report.score, report.max_score)
        shown = ", ".join(files[:5]) + (" ..." if len(files) > 5 else "")
        click.echo(
            say("watch_changed", files=shown, names=names, seconds=f"{seconds:.2f}", score=score)
        )
        for name in changes.newly_passing:
            click.echo(say("watch_newly_passing", name=name))
        for name, message in changes.newly_failing:
            click.echo(say("watch_newly_failing", name=name, message=message))
        if not changes.newly_passing and not changes.newly_failing:
            click.echo(say("watch_no_change"))

    def show_failure(reason: str) -> None:
        click.echo(say("watch_failed", reason=reason), err=True)

    watching.run(watcher, show_first, show_regrade, show_failure, student)
    click.echo(say("watch_stopped", path=out / json_report.FILENAME))


@main.command()
@assignment_option
@click.option(
    "--reference",
    "reference_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="The reference solutions (default: reference/ in the repository).",
)
@click.option(
    "--template",
    "template_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="The student template (default: student_template/ in the repository).",
)
@timeout_option
@click.option("--json", "as_json", is_flag=True, help="Print the validation as JSON.")
@click.option("--mutants/--no-mutants", "with_mutants", default=True, help=HELP_MUTANTS)
@click.option("--full", is_flag=True, help=HELP_FULL)
@click.option("--jobs", "-j", type=click.IntRange(min=1, max=64), default=None, help=HELP_JOBS)
@click.option("--variants/--no-variants", "with_variants", default=True, help=HELP_VARIANTS)
@click.option(
    "--variants-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Correct variants, as <dir>/<assignment>/<name>/<file> (default: "
    "tests/submissions/variants, when it exists).",
)
def reference(
    assignments: tuple[str, ...],
    reference_dir: Path | None,
    template_dir: Path | None,
    timeout: float | None,
    as_json: bool,
    with_mutants: bool,
    full: bool,
    jobs: int | None,
    with_variants: bool,
    variants_dir: Path | None,
) -> None:
    """Prove the checks right and sharp: reference full marks, template zero, mutants caught."""
    from grader import validation
    from grader.messages import DEFAULT_LANGUAGE, set_language
    from grader.mutants import MutantError

    # Its gradings and the expectations they are held to ("not implemented yet", each
    # mutant's hint) are all in the default language, whatever ran before in this process.
    set_language(DEFAULT_LANGUAGE)
    specs = _specs(assignments)
    try:
        result = validation.validate(
            specs,
            reference_dir,
            template_dir,
            timeout,
            with_mutants=with_mutants,
            full=full,
            jobs=jobs or validation.DEFAULT_JOBS,
            variants_dir=variants_dir,
            with_variants=with_variants,
        )
    except validation.MissingFolder as exc:
        raise click.UsageError(str(exc)) from None
    except MutantError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    else:
        click.echo(validation.render(result, color=_color_enabled()), nl=False)
    sys.exit(0 if result.ok else 1)


@main.command(name="list")
@assignment_option
def list_checks(assignments: tuple[str, ...]) -> None:
    """List the assignments and their checks, with category, points and visibility."""
    from grader import catalog

    click.echo(catalog.render(catalog.collect(_specs(assignments))), nl=False)


@main.command(name="contract")
@assignment_option
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True)
@click.option("--write", is_flag=True, help="Rewrite the contract blocks of both READMEs in place.")
def contract_command(assignments: tuple[str, ...], lang: str, write: bool) -> None:
    """Print each exercise's contract as rendered from its clauses (or rewrite the READMEs)."""
    from grader import contract

    if not write:
        click.echo(contract.render_all(_specs(assignments), lang), nl=False)
        return
    root = contract.repository_root()
    try:
        written = contract.write(root, _specs(()))
    except contract.ContractError as exc:
        raise click.ClickException(str(exc)) from None
    for path in written:
        click.echo(f"wrote: {path}")
    if not written:
        click.echo("the READMEs already match the clauses")


@main.command()
def schema() -> None:
    """Print the JSON Schema of report.json."""
    import json

    from grader.report import report_json_schema

    click.echo(json.dumps(report_json_schema(), indent=2))


@main.command(name="gradescope-bundle")
@click.argument("zip_path", metavar="OUT.zip", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--assignment", "-a", "assignments", multiple=True, metavar="NAME", help=HELP_BUNDLE_ASSIGNMENT
)
@click.option("--instructor", is_flag=True, help=HELP_BUNDLE_INSTRUCTOR)
def gradescope_bundle(zip_path: Path, assignments: tuple[str, ...], instructor: bool) -> None:
    """Build the autograder zip for Gradescope: setup.sh, run_autograder and the grader wheel."""
    from grader import bundle

    _specs(assignments)
    try:
        names = bundle.build_bundle(zip_path, assignments, instructor)
    except bundle.BundleError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise click.ClickException(WRITE_FAILED.format(path=exc.filename, reason=reason)) from None
    click.echo(BUNDLE_WRITTEN.format(path=zip_path, names=", ".join(names)))


def _add_classroom_commands() -> None:
    from grader.cli_classroom import classroom_workflow_command, student_bundle

    main.add_command(student_bundle)
    main.add_command(classroom_workflow_command)


_add_classroom_commands()
