"""The judge: pytest over the assignments' checks, in a process that never imports student code.

It runs as a forked child of the CLI. It collects the checks, asks the sandbox for
observations, decides each verdict and streams it to the CLI as an event. The CLI, not the
judge, writes the report, so a judge that dies still leaves a report behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch

from grader import evidence, feedback, messages
from grader.checks import CHECK_MARKER, Failure, ProbeTimeout
from grader.formats.text import inert
from grader.messages import say
from grader.sandbox import sockets, wire
from grader.sandbox.notebook_sources import SourceMap, relocate
from grader.sandbox.zygote import ProbeOutcome, Sandbox
from grader.spec import AssignmentSpec

MAX_OUTPUT_CHARS = 4000
# Deadlines one exercise may use up before its remaining checks are not run: a hostile or
# hanging submission costs at most this many timeouts, and a regrade with a longer --timeout
# can still give slow but correct code its points.
MAX_TIMEOUTS = 2


class NotRun(Exception):
    """A check left out because its exercise already ran out of time too often."""


def check_seed(check_id: str, base_seed: int) -> int:
    """A seed derived from the check's id, so grading is deterministic and checks independent."""
    return (zlib.crc32(check_id.encode()) + base_seed) % (2**31)


@dataclass
class JudgeOptions:
    timeout: float | None = None
    seed: int = 0
    lang: str = "en"
    sources: dict[str, SourceMap] = field(default_factory=dict)


@dataclass
class CheckMeta:
    id: str
    name: str
    assignment: str
    category: str
    points: float
    visibility: str
    timeout: float
    seed: int
    clauses: tuple[str, ...] = ()

    @property
    def name_in_file(self) -> str:
        """The check's function name, without the assignment prefix."""
        return self.id.split("::", 1)[-1]


_UNDEFINED_NAME = re.compile(r"module '(\w+)' has no attribute '(\w+)'")


def describe_student_error(error: dict[str, Any], call: str, student_file: str) -> Failure:
    """Turn the child's description of an exception into a failure a student can act on."""
    frames = error.get("frames") or []
    if frames:
        file, line, function, _code = frames[-1]
        where = say("at_line", file=file, line=line, function=function)
    else:
        where = ""
    kind = error.get("type", "Exception")
    text = error.get("message", "")
    code = [str(frame[3]) for frame in frames if len(frame) > 3]
    fix = feedback.explain_exception(str(kind), str(text), code)
    if kind == "SystemExit" and error.get("exit_code"):
        text = say("called_exit", code=error["exit_code"])
    if error.get("where") == "import":
        if kind == "SystemExit":
            return Failure(say("exit_at_import", file=student_file, detail=text), cause="import")
        return Failure(
            say("import_failed", file=student_file, kind=kind, message=text, where=where),
            cause="import",
            advice=fix,
        )
    if error.get("memory"):
        return Failure(say("memory_limit", call=call))
    if kind == "NotImplementedError" and error.get("raised_by_student"):
        return Failure(say("not_implemented", call=call, where=where, message=text))
    if kind == "SystemExit":
        return Failure(say("exit_in_call", call=call, detail=text))
    undefined = _UNDEFINED_NAME.fullmatch(text)
    module = student_file.split(" ", 1)[0].removesuffix(".py")
    names = [str(n) for n in error.get("names") or []]
    if kind == "AttributeError" and undefined and undefined.group(1) == module:
        name = undefined.group(2)
        near = feedback.near_miss_help(name, names, file=student_file)
        return Failure(
            say("not_defined", call=call, file=student_file, name=name),
            near or say("not_defined_help"),
            cause=f"missing:{name}",
        )
    near = ""
    if kind == "AttributeError" and error.get("missing") and error.get("owner_kind") != "module":
        owner = f"`{error.get('owner', '')}`" if error.get("owner") else ""
        near = feedback.near_miss_help(str(error["missing"]), names, owner=owner)
    return Failure(say("raised", call=call, kind=kind, message=text, where=where), near, advice=fix)


def check_meta(item: pytest.Function, spec: AssignmentSpec, options: JudgeOptions) -> CheckMeta:
    """A check's id, name, points, category, visibility, timeout and seed, from its marker."""
    marker = item.get_closest_marker(CHECK_MARKER)
    assert marker is not None
    check_id = f"{spec.name}::{item.name}"
    doc = (item.function.__doc__ or "").strip().splitlines()
    timeout = options.timeout or marker.kwargs.get("timeout") or spec.timeout
    translated = messages.check_name(spec.folder, item.name, options.lang)
    return CheckMeta(
        id=check_id,
        name=translated or (doc[0].strip() if doc else item.name),
        assignment=spec.name,
        category=marker.kwargs["category"],
        points=float(marker.kwargs["points"]),
        visibility=marker.kwargs.get("visibility") or spec.visibility,
        timeout=float(timeout),
        seed=check_seed(check_id, options.seed),
        clauses=tuple(marker.kwargs.get("covers") or ()),
    )


class ProbeCaller:
    """The `probe` fixture: run one probe in the sandbox and return its observation."""

    def __init__(
        self,
        sandbox: Sandbox,
        meta: CheckMeta,
        spec: AssignmentSpec,
        outputs: list[str],
        sources: dict[str, SourceMap] | None = None,
    ) -> None:
        self._sources = sources or {}
        self._sandbox = sandbox
        self._meta = meta
        self._spec = spec
        self._outputs = outputs
        self._calls = 0

    def __call__(self, name: str, /, *, call: str = "", **inputs: Any) -> Any:
        __tracebackhide__ = True
        call = call or name
        seed = (self._meta.seed + self._calls) % (2**31)
        self._calls += 1
        outcome = self._sandbox.call(self._meta.assignment, name, inputs, seed, self._meta.timeout)
        if outcome.output:
            self._outputs.append(outcome.output)
        return self._observation(outcome, call)

    def _observation(self, outcome: ProbeOutcome, call: str) -> Any:
        __tracebackhide__ = True
        try:
            return self._decide(outcome, call)
        except Failure as failure:
            error = outcome.value.get("error") if isinstance(outcome.value, dict) else None
            denied = isinstance(error, dict) and error.get("sandbox_denied") is True
            if denied or sockets.SOCKETS_DENIED in outcome.notices:
                failure.help = say("no_worker_processes")
            raise

    def _decide(self, outcome: ProbeOutcome, call: str) -> Any:
        __tracebackhide__ = True
        if outcome.status == "timeout":
            seconds = f"{self._meta.timeout:g}"
            if getattr(outcome, "phase", "") == "import":
                raise ProbeTimeout(
                    say("timeout_at_import", file=self._spec.student_file, seconds=seconds),
                    say("timeout_at_import_help"),
                    cause="import-timeout",
                )
            raise ProbeTimeout(say("timeout", call=call, seconds=seconds), say("timeout_help"))
        if outcome.status == "memory":
            raise Failure(say("memory_limit", call=call))
        if outcome.status == "crashed":
            key = "sandbox_lost" if outcome.sandbox_lost else "crashed"
            raise Failure(say(key, call=call, detail=outcome.detail), say("crashed_help"))
        if outcome.status == "garbage":
            raise Failure(say("garbage", call=call, detail=outcome.detail))
        envelope = outcome.value
        if not isinstance(envelope, dict) or not isinstance(envelope.get("ok"), bool):
            raise Failure(say("garbage", call=call, detail="no result envelope"))
        if not envelope["ok"]:
            error = envelope.get("error")
            if not isinstance(error, dict):
                raise Failure(say("garbage", call=call, detail="malformed error"))
            if error.get("type") == "GraderError" and not outcome.student_code_ran:
                raise RuntimeError(error.get("message"))
            source_map = self._sources.get(self._spec.student_file)
            file = source_map.display if source_map else self._spec.student_file
            failure = describe_student_error(relocate(error, self._sources), call, file)
            left_out = source_map.left_out_help(error) if source_map else ""
            if left_out:
                failure.help = left_out
            raise failure
        return envelope.get("value")


class JudgePlugin:
    """Collects the checks, provides the `probe` fixture and turns outcomes into verdicts."""

    def __init__(
        self,
        sandbox: Sandbox,
        specs: list[AssignmentSpec],
        root: Path,
        options: JudgeOptions,
        event_fd: int,
    ) -> None:
        self.sandbox = sandbox
        self.specs = {s.name: s for s in specs}
        self.root = root
        self.options = options
        self.event_fd = event_fd
        self.meta: dict[str, CheckMeta] = {}
        self.outputs: dict[str, list[str]] = {}
        self.started: dict[str, float] = {}
        self.timeouts: dict[str, int] = {}

    def emit(self, event: dict[str, Any]) -> None:
        wire.send_message(self.event_fd, event)

    def _assignment_of(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).parts[0]

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", f"{CHECK_MARKER}: a graded check (torchgrade)")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            path = Path(str(report.fspath))
            assignment = self._assignment_of(path) if path.is_absolute() else "?"
            self.emit(
                {
                    "event": "collect_error",
                    "assignment": assignment,
                    "message": say(
                        "checks_broken", file=path.name, detail=str(report.longrepr)[-1500:]
                    ),
                }
            )

    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        order = {name: i for i, name in enumerate(self.specs)}
        kept = []
        for item in items:
            marker = item.get_closest_marker(CHECK_MARKER)
            if marker is None or not isinstance(item, pytest.Function):
                continue
            assignment = self._assignment_of(item.path)
            self.meta[item.nodeid] = check_meta(item, self.specs[assignment], self.options)
            kept.append(item)
        kept.sort(key=lambda it: order[self.meta[it.nodeid].assignment])
        items[:] = kept
        self.emit({"event": "collected", "checks": [self.meta[i.nodeid].__dict__ for i in kept]})

    @pytest.fixture
    def probe(self, request: pytest.FixtureRequest) -> ProbeCaller:
        meta = self.meta[request.node.nodeid]
        outputs = self.outputs.setdefault(request.node.nodeid, [])
        spec = self.specs[meta.assignment]
        return ProbeCaller(self.sandbox, meta, spec, outputs, self.options.sources)

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        meta = self.meta[item.nodeid]
        messages.set_assignment(self.specs[meta.assignment].folder)
        # The CPU generator alone, as in the sandbox: torch.manual_seed also visits every
        # accelerator backend, which costs each check a few milliseconds for nothing.
        torch.default_generator.manual_seed(meta.seed)
        evidence.take_recorded()
        self.started[item.nodeid] = time.monotonic()
        if self.timeouts.get(meta.assignment, 0) >= MAX_TIMEOUTS:
            seconds = f"{meta.timeout:g}"
            raise NotRun(say("not_run", count=MAX_TIMEOUTS, seconds=seconds))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        yield
        if call.when == "call" or (call.when == "setup" and call.excinfo is not None):
            self.emit({"event": "result", "check": self.verdict(item, call)})

    def verdict(self, item: pytest.Item, call: pytest.CallInfo[None]) -> dict[str, Any]:
        meta = self.meta[item.nodeid]
        status, message, hint, cause = "passed", "", "", ""
        excinfo = call.excinfo
        if excinfo is not None:
            exc = excinfo.value
            if isinstance(exc, NotRun):
                status, message = "not_run", str(exc)
            elif isinstance(exc, ProbeTimeout):
                status, message, hint = "timeout", exc.rationale, exc.help
                self.timeouts[meta.assignment] = self.timeouts.get(meta.assignment, 0) + 1
                cause = getattr(exc, "cause", "")
            elif isinstance(exc, Failure):
                status, message = "failed", exc.rationale
                hint = exc.help or getattr(exc, "advice", "")
                cause = getattr(exc, "cause", "")
            elif isinstance(exc, AssertionError):
                status, message = "failed", str(exc).split("\nassert ")[0].strip()
            elif excinfo.errisinstance(pytest.skip.Exception):
                status, message = "skipped", str(getattr(exc, "msg", exc))
            else:
                status = "error"
                message = say("check_error", kind=type(exc).__name__, message=str(exc)[:500])
        output = inert("\n".join(self.outputs.pop(item.nodeid, [])))
        if len(output) > MAX_OUTPUT_CHARS:
            output = "[...]\n" + output[-MAX_OUTPUT_CHARS:]
        return {
            "id": meta.id,
            "name": meta.name,
            "category": meta.category,
            "status": status,
            "score": meta.points if status == "passed" else 0.0,
            "max_score": meta.points,
            "message": inert(message),
            "hint": inert(hint),
            "visibility": meta.visibility,
            "duration_s": round(
                time.monotonic() - self.started.get(item.nodeid, time.monotonic()), 4
            ),
            "output": output,
            **_evidence(status),
            "clauses": list(meta.clauses),
            "cause": cause,
        }


def _evidence(status: str) -> dict[str, list[dict[str, Any]]]:
    """The curves and worst entries the check recorded; worst entries only for a failure."""
    curves, worst = evidence.take_recorded()
    return {
        "curves": [c.model_dump() for c in curves],
        "worst": [w.model_dump() for w in worst] if status == "failed" else [],
    }


# pytest plugins the judge never uses. Each costs every judge its registration, and some
# (capture, logging) work around every check: together about a fifth of a judge's CPU. Kept:
# what a check author may reach for (fixtures such as monkeypatch and tmp_path, skip and
# xfail, warnings, unittest-style checks, assertion rewriting) and faulthandler, whose dump
# is what the judge's log shows when the judge itself crashes.
UNUSED_PYTEST_PLUGINS = (
    "cacheprovider",
    "stepwise",
    "unraisableexception",
    "threadexception",
    "capture",  # the judge's own stdout is /dev/null, and its stderr is the judge log
    "logging",
    "pastebin",
    "junitxml",
    "doctest",
    "setuponly",
    "setupplan",
    "legacypath",
    "debugging",
    "subtests",
)


def pytest_arguments(specs: list[AssignmentSpec], root: Path, ini: Path) -> list[str]:
    """Arguments that keep pytest away from anything in the working directory or environment."""
    arguments = [
        "-q",
        *(f"-pno:{name}" for name in UNUSED_PYTEST_PLUGINS),
        "--noconftest",
        "-c",
        str(ini),
        "--rootdir",
        str(root),
        "--import-mode=importlib",
        "-o",
        "python_files=test_*.py check_*.py",
        "-o",
        "python_functions=test_* check_*",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    return arguments + [str(spec.checks_dir) for spec in specs]


def warm_up_comparisons() -> None:
    """The first `assert_close` imports hundreds of modules; pay that while the zygote warms."""
    with contextlib.suppress(AssertionError):
        torch.testing.assert_close(torch.ones(1), torch.zeros(1))


def run_judge(
    sandbox: Sandbox, specs: list[AssignmentSpec], root: Path, options: JudgeOptions, event_fd: int
) -> int:
    """The judge process's main: run pytest with the plugin; return pytest's exit code."""
    for variable in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        os.environ.pop(variable, None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    messages.set_language(options.lang)
    warm_up_comparisons()
    plugin = JudgePlugin(sandbox, specs, root, options, event_fd)
    with tempfile.TemporaryDirectory(prefix="torchgrade-judge-") as scratch:
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\n")
        os.chdir(scratch)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        with contextlib.suppress(Exception):
            return int(pytest.main(pytest_arguments(specs, root, ini), plugins=[plugin]))
    return 70
