"""`grade student-bundle`: a wheel of the grader that holds the visible checks only.

Students install it (locally, or in the Classroom workflow) to check their work. Everything in
it can be read, so it must hold nothing a hidden check relies on. The build copies the
assignments and, per assignment:

- rewrites each check module from its syntax tree (`ast`): every check whose visibility is not
  `visible` is dropped, then every top-level helper, constant and fixture that only dropped code
  used, until nothing more goes. Comments do not survive `ast.unparse`, so none can leak;
- drops, the same way, each probe that only a dropped check asked for;
- keeps from messages.toml only the keys that the kept code names, and the translated names of
  the kept checks;
- sets `points` to the visible total and `withheld_points` to the rest, so every report it
  writes says what it left out;
- leaves out mutants, and never had `reference/` to begin with.

Anything the rewrite cannot judge (a visibility that is not a literal, a check made without a
decorator) stops the build rather than risk a leak.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import grader
from grader import bundle
from grader.spec import (
    CHECKS_DIR,
    MUTANTS_DIR,
    PROBES_FILE,
    SPEC_FILE,
    AssignmentSpec,
    assignments_root,
    discover,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LOCAL_VERSION = "student"
MESSAGES_FILE = "messages.toml"
NAMES_TABLE = "names"
CHECKS_MODULE = "grader.checks"
CHECK_DECORATOR = "check"
PROBE_DECORATOR = "probe"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_POINTS_LINE = re.compile(r"^points\s*=.*$", re.MULTILINE)


class StudentBuildError(Exception):
    """The student build cannot be made safely; the message names the file and why."""


@dataclass
class Pruned:
    """What the build kept and left out of one assignment."""

    name: str
    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    visible_points: float = 0.0
    withheld_points: float = 0.0


def student_version() -> str:
    return f"{grader.__version__}+{LOCAL_VERSION}"


# --------------------------------------------------------------------------- syntax trees


def _references(nodes: Iterable[ast.AST]) -> tuple[set[str], set[str]]:
    """(names, f-string prefixes) that `nodes` refer to: identifiers, attributes, arguments
    (pytest fixtures are asked for by argument name) and every identifier inside a string
    (probes and message keys are named by strings)."""
    names: set[str] = set()
    prefixes: set[str] = set()
    for root in nodes:
        for node in ast.walk(root):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.update(_IDENTIFIER.findall(node.value))
            elif isinstance(node, ast.JoinedStr) and node.values:
                first = node.values[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    prefixes.add(first.value)
    return names, prefixes


def _defines(statement: ast.stmt) -> set[str]:
    """The top-level names a statement defines, when it is a definition that can be dropped."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign):
        targets = [statement.target]
    names: set[str] = set()
    for target in targets:
        elements = target.elts if isinstance(target, ast.Tuple) else [target]
        if not all(isinstance(e, ast.Name) for e in elements):
            return set()
        names.update(e.id for e in elements if isinstance(e, ast.Name))
    return names


def _prune_unused(
    body: list[ast.stmt],
    dropped: set[int],
    kept_outside: set[str] = frozenset(),  # type: ignore[assignment]
    dropped_outside: set[str] = frozenset(),  # type: ignore[assignment]
) -> set[int]:
    """Grow `dropped` (indexes into `body`) with every definition that only dropped code used.

    A definition goes only if dropped code referred to it and nothing kept does: shared
    helpers stay, and so does anything nobody names (an autouse fixture, a public constant)."""
    dropped = set(dropped)
    while True:
        dropped_refs = _references(body[i] for i in dropped)[0] | dropped_outside
        more = set()
        for index, statement in enumerate(body):
            names = _defines(statement)
            if index in dropped or not names or not names & dropped_refs:
                continue
            others = (body[i] for i in range(len(body)) if i not in dropped and i != index)
            if not names & (_references(others)[0] | kept_outside):
                more.add(index)
        if not more:
            return dropped
        dropped |= more


def _decorator_name(decorator: ast.expr, aliases: set[str]) -> str | None:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Name) and target.id in aliases:
        return target.id
    if isinstance(target, ast.Attribute) and target.attr in aliases:
        return target.attr
    return None


def _aliases(tree: ast.Module, module: str, name: str) -> set[str]:
    """The local names of `module.name` in `tree` (`from grader.checks import check as c`)."""
    found = {name}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == module:
            found.update(a.asname or a.name for a in node.names if a.name == name)
    return found


def _literal(call: ast.Call, keyword: str, where: str) -> object:
    for item in call.keywords:
        if item.arg == keyword:
            try:
                return ast.literal_eval(item.value)
            except ValueError:
                raise StudentBuildError(
                    f"{where}: {keyword}= is not a literal, so the student build cannot tell "
                    "what it is; write it as a literal"
                ) from None
    return None


def _check_call(function: ast.stmt, aliases: set[str]) -> ast.Call | None:
    if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    for decorator in function.decorator_list:
        if _decorator_name(decorator, aliases):
            if not isinstance(decorator, ast.Call):
                raise StudentBuildError(f"{function.name}: @check needs its arguments")
            return decorator
    return None


@dataclass
class ModuleCut:
    source: str
    kept: list[str]
    dropped: list[str]
    kept_strings: set[str]
    dropped_strings: set[str]
    prefixes: set[str]
    visible_points: float
    withheld_points: float


def cut_checks(source: str, default_visibility: str, path: str) -> ModuleCut:
    """The check module `source` without its non-visible checks and what only they used."""
    try:
        tree = ast.parse(source, path)
    except SyntaxError as exc:
        raise StudentBuildError(f"{path}: not valid Python ({exc.msg})") from None
    aliases = _aliases(tree, CHECKS_MODULE, CHECK_DECORATOR)
    dropped: set[int] = set()
    kept_names: list[str] = []
    dropped_names: list[str] = []
    visible = withheld = 0.0
    decorators: set[int] = set()
    for index, statement in enumerate(tree.body):
        call = _check_call(statement, aliases)
        if call is None:
            continue
        assert isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef)
        decorators.add(id(call))
        where = f"{path}: {statement.name}"
        visibility = _literal(call, "visibility", where) or default_visibility
        points = _literal(call, "points", where)
        if points is None and call.args:
            points = ast.literal_eval(call.args[0])
        if not isinstance(points, int | float):
            raise StudentBuildError(f"{where}: points= must be a number literal")
        if visibility == "visible":
            kept_names.append(statement.name)
            visible += float(points)
        else:
            dropped.add(index)
            dropped_names.append(statement.name)
            withheld += float(points)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in aliases
            and id(node) not in decorators
        ):
            raise StudentBuildError(
                f"{path}: line {node.lineno} calls check() outside a decorator of a top-level "
                "function, so the student build cannot tell which check it makes"
            )
    dropped = _prune_unused(tree.body, dropped)
    kept_body = [s for i, s in enumerate(tree.body) if i not in dropped]
    kept_strings, prefixes = _references(kept_body)
    dropped_strings = _references(s for i, s in enumerate(tree.body) if i in dropped)[0]
    module = ast.Module(body=kept_body, type_ignores=[])
    return ModuleCut(
        source=ast.unparse(module) + "\n",
        kept=kept_names,
        dropped=dropped_names,
        kept_strings=kept_strings,
        dropped_strings=dropped_strings,
        prefixes=prefixes,
        visible_points=visible,
        withheld_points=withheld,
    )


def cut_probes(source: str, kept: set[str], dropped: set[str], path: str) -> tuple[str, set[str]]:
    """probes.py without the probes that only dropped checks name; also its kept strings."""
    try:
        tree = ast.parse(source, path)
    except SyntaxError as exc:
        raise StudentBuildError(f"{path}: not valid Python ({exc.msg})") from None
    aliases = _aliases(tree, "grader.sandbox.probing", PROBE_DECORATOR)
    unasked: set[int] = set()
    for index, statement in enumerate(tree.body):
        if not isinstance(statement, ast.FunctionDef):
            continue
        is_probe = any(_decorator_name(d, aliases) for d in statement.decorator_list)
        if is_probe and statement.name in dropped and statement.name not in kept:
            unasked.add(index)
    cut = _prune_unused(tree.body, unasked, kept_outside=kept)
    body = [s for i, s in enumerate(tree.body) if i not in cut]
    return ast.unparse(ast.Module(body=body, type_ignores=[])) + "\n", _references(body)[0]


# --------------------------------------------------------------------------- catalogues


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes (\\n, \\", \\\\, \\uXXXX) are all valid TOML."""
    return json.dumps(value, ensure_ascii=False)


def cut_messages(text: str, used: set[str], prefixes: set[str], checks: set[str], path: str) -> str:
    """messages.toml with only the keys kept code names and the kept checks' names."""
    try:
        tables = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudentBuildError(f"{path}: not valid TOML ({exc})") from None
    lines = ["# Generated by `grade student-bundle`: the messages of the visible checks only."]
    for lang, table in tables.items():
        if not isinstance(table, dict):
            raise StudentBuildError(f"{path}: '{lang}' must be a table")
        lines += ["", f"[{_toml_key(lang)}]"]
        for key, value in table.items():
            if isinstance(value, str) and (key in used or key.startswith(tuple(prefixes))):
                lines.append(f"{_toml_key(key)} = {_toml_string(value)}")
        names = table.get(NAMES_TABLE, {})
        if isinstance(names, dict) and names:
            lines += ["", f"[{_toml_key(lang)}.{NAMES_TABLE}]"]
            for check_name, value in names.items():
                if check_name in checks and isinstance(value, str):
                    lines.append(f"{_toml_key(check_name)} = {_toml_string(value)}")
    return "\n".join(lines) + "\n"


def _spec_text(text: str, visible: float, withheld: float, path: Path) -> str:
    """assignment.toml with `points` set to the visible total and `withheld_points` added."""
    raw = tomllib.loads(text)
    if "withheld_points" in raw:
        raise StudentBuildError(f"{path}: already a student build (it sets withheld_points)")
    replaced, count = _POINTS_LINE.subn(
        f"points = {visible:g}\nwithheld_points = {withheld:g}", text, count=1
    )
    check = tomllib.loads(replaced) if count else {}
    if check.get("points") != visible or check.get("withheld_points") != withheld:
        raise StudentBuildError(f"{path}: the top-level 'points = ...' line could not be rewritten")
    return replaced


# --------------------------------------------------------------------------- the build


def _assignment(spec: AssignmentSpec, target: Path) -> Pruned:
    folder = spec.folder
    pruned = Pruned(spec.name)
    target.mkdir(parents=True)
    kept_strings: set[str] = set()
    dropped_strings: set[str] = set()
    prefixes: set[str] = set()
    checks_dir = folder / CHECKS_DIR
    for path in sorted(checks_dir.rglob("*")):
        relative = path.relative_to(folder)
        if "__pycache__" in relative.parts or path.name.startswith("."):
            continue
        out = target / relative
        if path.is_dir():
            out.mkdir(parents=True, exist_ok=True)
            continue
        if path.suffix != ".py":
            raise StudentBuildError(
                f"{path}: only Python files may sit in checks/ of a student build"
            )
        out.parent.mkdir(parents=True, exist_ok=True)
        cut = cut_checks(path.read_text(encoding="utf-8"), spec.visibility, str(path))
        out.write_text(cut.source, encoding="utf-8")
        pruned.kept += cut.kept
        pruned.dropped += cut.dropped
        pruned.visible_points += cut.visible_points
        pruned.withheld_points += cut.withheld_points
        kept_strings |= cut.kept_strings
        dropped_strings |= cut.dropped_strings
        prefixes |= cut.prefixes
    if not pruned.kept:
        raise StudentBuildError(
            f"{spec.name}: no check is visible, so a student build would grade nothing; make "
            "some visible or leave the assignment out (--assignment)"
        )
    probes = folder / PROBES_FILE
    if probes.is_file():
        source, probe_strings = cut_probes(
            probes.read_text(encoding="utf-8"), kept_strings, dropped_strings, str(probes)
        )
        (target / PROBES_FILE).write_text(source, encoding="utf-8")
        kept_strings |= probe_strings
    messages = folder / MESSAGES_FILE
    if messages.is_file():
        (target / MESSAGES_FILE).write_text(
            cut_messages(
                messages.read_text(encoding="utf-8"),
                kept_strings,
                prefixes,
                set(pruned.kept),
                str(messages),
            ),
            encoding="utf-8",
        )
    for path in sorted(folder.iterdir()):
        if path.name in {CHECKS_DIR, MUTANTS_DIR, PROBES_FILE, MESSAGES_FILE, SPEC_FILE}:
            continue
        if path.name.startswith(".") or path.name == "__pycache__":
            continue
        raise StudentBuildError(
            f"{path}: the student build does not know whether this file is safe to publish; "
            "move it out of the assignment folder"
        )
    spec_path = folder / SPEC_FILE
    (target / SPEC_FILE).write_text(
        _spec_text(
            spec_path.read_text(encoding="utf-8"),
            pruned.visible_points,
            pruned.withheld_points,
            spec_path,
        ),
        encoding="utf-8",
    )
    return pruned


def build(
    out_dir: Path, assignments: tuple[str, ...] = (), root: Path | None = None
) -> tuple[Path, list[Pruned]]:
    """Write the student wheel into `out_dir`; return its path and what each assignment kept."""
    root = (root or assignments_root()).resolve()
    specs = discover(root)
    if assignments:
        unknown = sorted(set(assignments) - {s.name for s in specs})
        if unknown:
            raise StudentBuildError(f"unknown assignment: {', '.join(unknown)}")
        specs = [s for s in specs if s.name in assignments]
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="torchgrade-student-") as scratch:
        folder = Path(scratch) / "assignments"
        folder.mkdir()
        for name in ("__init__.py", "README.md"):
            if (root / name).is_file():
                shutil.copyfile(root / name, folder / name)
        report = [_assignment(spec, folder / spec.name) for spec in specs]
        try:
            wheel = bundle.build_wheel(out_dir, folder, student_version())
        except bundle.BundleError as exc:
            raise StudentBuildError(str(exc)) from None
    return wheel, report
