"""From notebook cells to a module: keep the definitions and what they depend on, by parsing.

Each top-level statement is a unit. Definitions (functions, classes, imports, assignments,
`if`/`try` blocks that bind names) are kept when a needed name reaches them, and so are the
later units that complete a kept class: attribute assignments such as `MyLinear.forward =
forward`, and functions whose decorator names the class, as in D2L's
`@add_to_class(MyLinear)`. Everything else at the top level (training calls, loops, prints,
plots, magics) is left out and listed, and so is every definition nothing graded needs. Which
names a statement reads is computed with `symtable`, scope by scope, so a local `losses = []`
inside `train` does not pull in a top-level `losses = train(...)`. A name a unit reads while
it is being defined (a base class, a decorator, a default value) and also binds is the
earlier binding's: `class LR(LR):` keeps the `LR` it refines. Nothing is executed.
"""

from __future__ import annotations

import ast
import builtins
import copy
import importlib.machinery
import re
import symtable
from dataclasses import dataclass, field
from pathlib import Path

from grader.sandbox.notebooks import Cell, CodeCell, Notebook

_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "__doc__", "__builtins__"}
_EAGER_SCOPES = {"listcomp", "setcomp", "dictcomp", "genexpr"}
_DEFINING = ("def", "import", "assign", "block")


@dataclass
class Unit:
    """One top-level statement of a code cell."""

    code: CodeCell
    node: ast.stmt
    start: int
    end: int
    kind: str
    binds: set[str] = field(default_factory=set)
    now: set[str] = field(default_factory=set)
    later: set[str] = field(default_factory=set)
    completes: str = ""
    decorators: set[str] = field(default_factory=set)
    guarded: bool = False
    needed: set[str] = field(default_factory=set)

    @property
    def cell(self) -> Cell:
        return self.code.cell


@dataclass
class Broken:
    code: CodeCell
    error: SyntaxError


@dataclass
class Module:
    """A generated module and where each of its lines came from."""

    source: str
    origin: list[tuple[int, int]]
    found: set[str]
    notes: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    broken: list[Cell] = field(default_factory=list)
    kept: set[int] = field(default_factory=set)


def _uses_ipython(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "get_ipython"
        for n in ast.walk(node)
    )


def _is_ipython_call(node: ast.AST) -> bool:
    """`get_ipython().something(...)`, what the transformer makes of a magic or `!cmd`."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    inner = node.func.value
    return (
        isinstance(inner, ast.Call)
        and isinstance(inner.func, ast.Name)
        and inner.func.id == "get_ipython"
    )


class _DropIPython(ast.NodeTransformer):
    def visit_Expr(self, node: ast.Expr) -> ast.stmt:
        if _is_ipython_call(node.value):
            return ast.copy_location(ast.Pass(), node)
        return node


def _without_ipython(node: ast.stmt) -> ast.stmt:
    """A copy of `node` with each IPython command statement (`!nvidia-smi`, `%time x`)
    replaced by `pass`."""
    if not _uses_ipython(node):
        return node
    result = _DropIPython().visit(copy.deepcopy(node))
    assert isinstance(result, ast.stmt)
    return result


def _ipython_lines(node: ast.stmt) -> list[int]:
    """The line numbers of the IPython command statements inside `node`."""
    return [
        inner.lineno
        for inner in ast.walk(node)
        if isinstance(inner, ast.Expr) and _is_ipython_call(inner.value)
    ]


def _scopes(source: str) -> tuple[set[str], set[str], set[str]]:
    """(names bound at module level, names read at definition time, names read at call time)."""
    table = symtable.symtable(source, "<cell>", "exec")
    binds = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    now = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    later: set[str] = set()

    def walk(scope: symtable.SymbolTable, eager: bool) -> None:
        for child in scope.get_children():
            child_eager = eager and (
                child.get_type() == "class" or child.get_name() in _EAGER_SCOPES
            )
            # Read there, or declared `global` (`global STEPS; STEPS += 1` only assigns, yet
            # needs the top-level `STEPS = 0` to have run).
            names = {
                s.get_name()
                for s in child.get_symbols()
                if (s.is_referenced() and s.is_global()) or s.is_declared_global()
            }
            (now if child_eager else later).update(names)
            walk(child, child_eager)

    walk(table, True)
    return binds, now, later


def _base_name(target: ast.expr) -> str:
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
    return target.id if isinstance(target, ast.Name) else ""


def _targets(node: ast.stmt) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        return [node.target]
    return []


def _decorator_names(node: ast.stmt) -> set[str]:
    """The names a definition's decorators read (`add_to_class` and `MyLinear` in
    `@add_to_class(MyLinear)`)."""
    return {
        n.id
        for decorator in getattr(node, "decorator_list", [])
        for n in ast.walk(decorator)
        if isinstance(n, ast.Name)
    }


def _guarded(node: ast.stmt) -> bool:
    return isinstance(node, ast.Try) and any(
        h.type is None or "ImportError" in ast.unparse(h.type) or "Exception" in ast.unparse(h.type)
        for h in node.handlers
    )


def _classify(node: ast.stmt) -> str:
    if isinstance(node, ast.ImportFrom) and node.module == "__future__":
        return "future"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "import"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return "def"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return "quiet"
    if isinstance(node, ast.Pass):
        return "quiet"
    if _uses_ipython(node) and not isinstance(node, (ast.If, ast.Try)):
        return "magic"
    targets = _targets(node)
    if targets:
        plain = all(
            isinstance(t, ast.Name)
            or (
                isinstance(t, (ast.Tuple, ast.List))
                and all(isinstance(e, ast.Name) for e in t.elts)
            )
            for t in targets
        )
        if plain:
            return "assign"
        if all(_base_name(t) for t in targets) and not isinstance(node, ast.AugAssign):
            return "completes"
        return "experiment"
    if isinstance(node, ast.If):
        test = ast.unparse(node.test).replace(" ", "")
        if "__name__" in test:
            return "experiment"
        return "block"
    if isinstance(node, ast.Try):
        return "block"
    return "experiment"


def units_of(code: CodeCell) -> list[Unit] | SyntaxError:
    """The cell's top-level statements, classified, or the cell's syntax error."""
    try:
        tree = ast.parse(code.source)
    except SyntaxError as exc:
        return exc
    except (ValueError, RecursionError, MemoryError) as exc:
        return SyntaxError(str(exc))
    units = []
    for node in tree.body:
        starts = [node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]
        unit = Unit(code, node, min(starts), node.end_lineno or node.lineno, _classify(node))
        if unit.kind in (*_DEFINING, "completes"):
            try:
                unit.binds, unit.now, unit.later = _scopes(ast.unparse(_without_ipython(node)))
            except (SyntaxError, ValueError, RecursionError):
                unit.kind = "experiment"
            if unit.kind == "completes":
                unit.completes = _base_name(_targets(node)[0])
                unit.binds = set()
            if unit.kind == "block" and not unit.binds:
                unit.kind = "experiment"
            # A block with `!nvidia-smi` in it is kept with `pass` in its place; one that
            # uses IPython otherwise (`x = !ls`) cannot run without it.
            if unit.kind == "block" and _uses_ipython(_without_ipython(node)):
                unit.kind = "experiment"
            unit.guarded = _guarded(node)
            if unit.kind == "def":
                unit.decorators = _decorator_names(node)
        units.append(unit)
    return units


@dataclass
class Parsed:
    """A notebook's code cells as units, in notebook order, and the cells that do not parse."""

    notebook: Notebook
    units: list[Unit]
    broken: list[Broken]

    def providers(self, name: str) -> list[int]:
        return [i for i, u in enumerate(self.units) if u.kind in _DEFINING and name in u.binds]

    def defines(self, name: str) -> bool:
        """Whether the notebook really defines `name`, as a class or a function would be: by a
        `def`, a `class`, an import, or an assignment of a value that can be one (a lambda, an
        alias, a call). `LR = 0.1` binds `LR` but defines no class `LR`."""
        return self._defines(name, len(self.units), 0)

    def _defines(self, name: str, before: int, depth: int) -> bool:
        if depth > 20:
            return False
        for index in self.providers(name):
            if index >= before:
                continue
            unit = self.units[index]
            if unit.kind in ("def", "import"):
                return True
            values = _bound_values(unit.node, name)
            if any(self._callable(v, index, depth) for v in values):
                return True
        return False

    def _callable(self, value: ast.expr | None, index: int, depth: int) -> bool:
        """Whether `value` may be a class or a function: not a literal, nor built from them."""
        if value is None:  # bound by a def, class, import or unpacking inside a block
            return True
        if isinstance(value, ast.Name):  # an alias: what the name was bound to before
            if not self.providers(value.id):  # bound by nothing listed: a star import may
                return any(_is_star_import(u) for u in self.units[:index])
            return self._defines(value.id, index, depth + 1)
        return not isinstance(value, _DATA)

    def top_definitions(self) -> set[str]:
        return {n for u in self.units if u.kind == "def" for n in u.binds if not n.startswith("_")}


_DATA = (
    ast.Constant,
    ast.JoinedStr,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
)


def _bound_values(node: ast.stmt, name: str) -> list[ast.expr | None]:
    """The values a top-level statement binds `name` to, looking into `if`/`try`/`with`
    blocks but not into functions or classes; None where the value is not an expression
    (a `def`, a `class`, an import, a loop variable, an unpacked call)."""
    found: list[ast.expr | None] = []

    def visit(stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if stmt.name == name:
                found.append(None)
            return
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            if any((a.asname or a.name.split(".")[0]) == name for a in stmt.names):
                found.append(None)
            return
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                found.extend(_values_for(target, stmt.value, name))
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            found.extend(_values_for(stmt.target, stmt.value, name))
        elif isinstance(stmt, ast.AugAssign):
            return  # `LR += 1` is arithmetic on whatever LR was
        elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
            targets = [stmt.target] if isinstance(stmt, (ast.For, ast.AsyncFor)) else []
            targets += [i.optional_vars for i in getattr(stmt, "items", []) if i.optional_vars]
            if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
                found.append(None)
        for field_name in ("body", "orelse", "finalbody", "handlers"):
            for inner in getattr(stmt, field_name, []) or []:
                if isinstance(inner, ast.ExceptHandler):
                    for handled in inner.body:
                        visit(handled)
                elif isinstance(inner, ast.stmt):
                    visit(inner)

    visit(node)
    return found


def _values_for(target: ast.expr, value: ast.expr, name: str) -> list[ast.expr | None]:
    if isinstance(target, ast.Name):
        return [value] if target.id == name else []
    if isinstance(target, (ast.Tuple, ast.List)):
        if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
            return [
                v
                for t, e in zip(target.elts, value.elts, strict=True)
                for v in _values_for(t, e, name)
            ]
        names = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        return [None] if name in names else []
    return []


def defines_broken(source: str, names: set[str]) -> set[str]:
    """The names a cell that does not parse appears to define: `class X`, `def X`, `X = `
    at the start of a line. A prose cell that mentions `LR` defines nothing."""
    return {
        n
        for n in names
        if re.search(
            rf"^[ \t]*(?:(?:async[ \t]+)?def[ \t]+{re.escape(n)}\b|class[ \t]+{re.escape(n)}\b"
            rf"|{re.escape(n)}[ \t]*(?::[^=\n]*)?=(?!=)(?![ \t]*[-+.\d'\"]))",
            source,
            re.MULTILINE,
        )
    }


def parse(notebook: Notebook) -> Parsed:
    units: list[Unit] = []
    broken: list[Broken] = []
    for code in notebook.code:
        result = units_of(code)
        if isinstance(result, SyntaxError):
            broken.append(Broken(code, result))
        else:
            units.extend(result)
    return Parsed(notebook, units, broken)


def _mentions(source: str, names: set[str]) -> bool:
    return any(re.search(rf"\b{re.escape(n)}\b", source) for n in names)


def _module_available(name: str, folder: Path | None, local: set[str]) -> bool:
    """Whether `import name` can work where grading runs, found without importing anything."""
    top = name.split(".")[0]
    if top in local or (
        folder is not None and ((folder / f"{top}.py").is_file() or (folder / top).is_dir())
    ):
        return True
    path = None
    for part in name.split("."):
        try:
            spec = importlib.machinery.PathFinder.find_spec(part, path)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            return part == top and top in _stdlib_builtin()
        path = spec.submodule_search_locations
        if path is None:
            return True
    return True


def _stdlib_builtin() -> set[str]:
    import sys

    return set(sys.builtin_module_names)


def extract(
    parsed: Parsed, roots: set[str], folder: Path | None = None, local: set[str] | None = None
) -> Module:
    """The module that defines `roots` and everything they need, in notebook order."""
    units = parsed.units
    kept: set[int] = set()
    notes: list[tuple[str, dict[str, str]]] = []
    unresolved: set[str] = set()
    # (name, resolve it before this unit, or None for the last binding; the unit that reads it)
    work: list[tuple[str, int | None, int | None]] = [(name, None, None) for name in sorted(roots)]
    users: dict[int, set[int]] = {}
    found: set[str] = set()

    def resolve(name: str, before: int | None) -> int | None:
        options = parsed.providers(name)
        if before is not None:
            earlier = [i for i in options if i < before]
            options = earlier or options
        return options[-1] if options else None

    def keep(first: int) -> None:
        """Keep unit `first`, ask for what it reads, and keep the later units completing it."""
        pending = [first]
        while pending:
            index = pending.pop()
            unit = units[index]
            kept.add(index)
            work.extend((n, index, index) for n in unit.now - unit.binds)
            work.extend((n, None, index) for n in unit.later)
            # Read while being defined and bound by the unit too: the earlier binding's, if
            # any (`class LR(LR):`, `x = x + 1`); otherwise the session had none either.
            work.extend(
                (n, index, index)
                for n in unit.now & unit.binds
                if any(i < index for i in parsed.providers(n))
            )
            classes = unit.binds if isinstance(unit.node, ast.ClassDef) else set()
            for j in range(index + 1, len(units)):
                other = units[j]
                target = other.completes if other.kind == "completes" else ""
                if other.kind == "def":
                    target = min(other.decorators & classes, default="")
                between = [p for p in parsed.providers(target) if index < p < j] if target else []
                if target in unit.binds and not between and j not in kept and j not in pending:
                    pending.append(j)

    while work:
        name, before, reader = work.pop()
        index = resolve(name, before)
        if index is None:
            if name not in _BUILTINS:
                unresolved.add(name)
            continue
        if name in roots:
            found.add(name)
        unit = units[index]
        unit.needed.add(name)
        if reader is not None and reader != index:
            users.setdefault(index, set()).add(reader)
        if index not in kept:
            keep(index)
    # A star import binds names nobody can list without running it: where kept code reads
    # names that nothing in the notebook binds, every star import is kept, as an import.
    if unresolved:
        for index, unit in enumerate(units):
            if _is_star_import(unit):
                unit.needed |= unresolved
                kept.add(index)
    for name in sorted(roots & found):
        _note_order(parsed, name, notes)
    # A cell with a syntax error is kept (and fails the import) only where it may hold what
    # is missing: a needed name no valid cell defines, or the definition of a name that kept
    # code reads and no valid cell binds. A demo or prose cell that merely mentions a defined
    # name is left out and listed.
    # For a missing needed name, the cells that read as its definition, else those naming it.
    holding: set[int] = set()
    for name in sorted(roots - found):
        defining = [i for i, b in enumerate(parsed.broken) if defines_broken(b.code.source, {name})]
        naming = [i for i, b in enumerate(parsed.broken) if _mentions(b.code.source, {name})]
        holding.update(defining or naming)
    holding.update(
        i for i, b in enumerate(parsed.broken) if defines_broken(b.code.source, unresolved)
    )
    broken_kept: list[Broken] = [b for i, b in enumerate(parsed.broken) if i in holding]
    for index in sorted(kept):
        unit = units[index]
        if unit.kind == "import" and not unit.guarded:
            for module in _imported_modules(unit):
                if not _module_available(module, folder, local or set()):
                    notes.append(
                        (
                            "notebook_import_missing",
                            {
                                "module": module,
                                "cell": unit.cell.label,
                                "names": ", ".join(_users(units, users, index)),
                            },
                        )
                    )
    result = _emit(parsed, sorted(kept), broken_kept, found, notes)
    result.kept = kept
    return result


def _users(units: list[Unit], users: dict[int, set[int]], index: int) -> list[str]:
    """The names of the kept definitions that read what unit `index` binds (`train` for the
    `from tqdm.notebook import tqdm` it calls), through other imports and assignments."""
    names: set[str] = set()
    seen, pending = {index}, sorted(users.get(index, ()))
    while pending:
        reader = pending.pop()
        if reader in seen:
            continue
        seen.add(reader)
        unit = units[reader]
        if unit.kind in ("def", "completes", "block") or not users.get(reader):
            names |= unit.binds or {unit.completes} - {""}
        else:  # an alias or an import reading it: who needs that
            pending.extend(users[reader])
    return sorted(names) or sorted(units[index].needed)


def _is_star_import(unit: Unit) -> bool:
    return isinstance(unit.node, ast.ImportFrom) and any(a.name == "*" for a in unit.node.names)


def _imported_modules(unit: Unit) -> list[str]:
    node = unit.node
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if (a.asname or a.name.split(".")[0]) in unit.needed]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module]
    return []


def _note_order(parsed: Parsed, name: str, notes: list[tuple[str, dict[str, str]]]) -> None:
    """A name defined in several cells: the last in the notebook wins; say so when the student's
    session ran another one last."""
    cells: list[Cell] = []
    for index in parsed.providers(name):
        cell = parsed.units[index].cell
        if cell not in cells:
            cells.append(cell)
    if len(cells) < 2:
        return
    used = cells[-1]
    ran = [c for c in cells if c.execution_count is not None]
    last_run = max(ran, key=lambda c: c.execution_count or 0) if ran else used
    if last_run is not used:
        notes.append(("notebook_order", {"name": name, "used": used.label, "ran": last_run.label}))


def _reduced_import(unit: Unit) -> ast.stmt:
    node = unit.node
    assert isinstance(node, (ast.Import, ast.ImportFrom))
    names = [
        a for a in node.names if a.name == "*" or (a.asname or a.name.split(".")[0]) in unit.needed
    ]
    if isinstance(node, ast.Import):
        return ast.Import(names=names)
    return ast.ImportFrom(module=node.module, names=names, level=node.level)


def _unit_lines(unit: Unit, lines: list[str], shared: bool) -> tuple[list[str], list[int]]:
    """The unit's text and, per line, its line number in the transformed cell."""
    node = unit.node
    if unit.kind == "import" and len(_reduced_import(unit).names) != len(node.names):  # type: ignore[attr-defined]
        return [ast.unparse(_reduced_import(unit))], [unit.start]
    if shared:
        text = ast.unparse(_without_ipython(node)).split("\n")
        return text, [unit.start] * len(text)
    text = lines[unit.start - 1 : unit.end]
    numbers = list(range(unit.start, unit.end + 1))
    for inner in ast.walk(node):
        if isinstance(inner, ast.Expr) and _is_ipython_call(inner.value):
            first, last = inner.lineno - unit.start, (inner.end_lineno or inner.lineno) - unit.start
            indent = text[first][: len(text[first]) - len(text[first].lstrip())]
            text[first] = indent + "pass  # IPython command left out"
            for k in range(first + 1, last + 1):
                text[k] = ""
    return text, numbers


def _emit(
    parsed: Parsed,
    kept: list[int],
    broken: list[Broken],
    found: set[str],
    notes: list[tuple[str, dict[str, str]]],
) -> Module:
    out: list[str] = []
    origin: list[tuple[int, int]] = []
    units = parsed.units
    futures = [u for u in units if u.kind == "future"]
    for future in sorted({ast.unparse(u.node) for u in futures}):
        out.append(future)
        origin.append((futures[0].cell.position, futures[0].code.cell_line(futures[0].start)))
    broken_cells = {b.code.cell.position: b for b in broken}
    by_cell: dict[int, list[Unit]] = {}
    for unit in units:
        by_cell.setdefault(unit.cell.position, []).append(unit)
    emitted_broken: set[int] = set()
    for index in kept:
        unit = units[index]
        for position in sorted(p for p in broken_cells if p < unit.cell.position):
            if position not in emitted_broken:
                _emit_raw(broken_cells[position].code, out, origin)
                emitted_broken.add(position)
        siblings = by_cell[unit.cell.position]
        shared = any(
            o is not unit and o.start <= unit.end and unit.start <= o.end for o in siblings
        )
        lines = unit.code.source.split("\n")
        text, numbers = _unit_lines(unit, lines, shared)
        out.extend(text)
        origin.extend((unit.cell.position, unit.code.cell_line(n)) for n in numbers)
    for position in sorted(broken_cells):
        if position not in emitted_broken:
            _emit_raw(broken_cells[position].code, out, origin)
    source = "\n".join(out) + "\n"
    return Module(source, origin, found, notes, [b.code.cell for b in broken])


def _emit_raw(code: CodeCell, out: list[str], origin: list[tuple[int, int]]) -> None:
    for number, line in enumerate(code.source.split("\n"), 1):
        out.append(line)
        origin.append((code.cell.position, code.cell_line(number)))


def left_out(
    parsed: Parsed, kept_units: set[int], kept_cells: set[int]
) -> list[tuple[Cell, str, str]]:
    """Top-level statements not run when grading: (cell, first line of the statement, why).

    A definition nothing graded needs is listed too, as "unused": a function or class the
    grading never saw (a method written outside its class and never attached, a first draft
    replaced by a later one, a decorated function whose decorator names no kept class) is
    never dropped silently."""
    rows: list[tuple[Cell, str, str]] = []
    for index, unit in enumerate(parsed.units):
        star = _is_star_import(unit) and index not in kept_units
        if (
            star
            or unit.kind in ("experiment", "magic")
            or (unit.kind in ("assign", "block", "completes", "def") and index not in kept_units)
        ):
            original = unit.cell.source.split("\n")
            number = unit.code.cell_line(unit.start)
            line = original[number - 1].strip() if number <= len(original) else ""
            why = (
                "unused"
                if star
                else {"magic": "magic", "def": "unused"}.get(unit.kind, "experiment")
            )
            rows.append((unit.cell, line[:60], why))
        elif index in kept_units:
            # IPython commands inside a kept block (`!nvidia-smi` in an `if`): left out alone.
            original = unit.cell.source.split("\n")
            for number in _ipython_lines(unit.node):
                number = unit.code.cell_line(number)
                line = original[number - 1].strip() if number <= len(original) else ""
                rows.append((unit.cell, line[:60], "magic"))
    for broken in parsed.broken:
        if broken.code.cell.position not in kept_cells:
            rows.append((broken.code.cell, broken.code.cell.first_line, "syntax"))
    return rows


@dataclass(frozen=True)
class Attaching:
    """A left-out statement that sets attributes on a kept class (`setattr(MySGD, name, fn)` in
    a loop): an AttributeError on that class can name it."""

    cls: str
    cell: int
    statement: str
    source: str

    def sets(self, cls: str, name: str) -> bool:
        """Whether this statement would have set `name` on `cls`: it names both."""
        return cls == self.cls and _mentions(self.source, {name})


def attaching(parsed: Parsed, kept: set[int]) -> list[Attaching]:
    """The left-out experiments that set attributes on a class the module keeps."""
    classes = {
        name
        for index in kept
        if isinstance(parsed.units[index].node, ast.ClassDef)
        for name in parsed.units[index].binds
    }
    found: list[Attaching] = []
    for index, unit in enumerate(parsed.units):
        if index in kept or unit.kind != "experiment":
            continue
        for cls in sorted(_attached_to(unit.node) & classes):
            original = unit.cell.source.split("\n")
            number = unit.code.cell_line(unit.start)
            line = original[number - 1].strip() if number <= len(original) else ""
            found.append(
                Attaching(cls, unit.cell.position, line[:60], ast.unparse(unit.node)[:4000])
            )
    return found


def _attached_to(node: ast.stmt) -> set[str]:
    """The names whose attributes `node` sets: `setattr(C, ...)` and `C.x = ...` anywhere in it."""
    names: set[str] = set()
    for inner in ast.walk(node):
        if (
            isinstance(inner, ast.Call)
            and isinstance(inner.func, ast.Name)
            and inner.func.id == "setattr"
            and inner.args
            and isinstance(inner.args[0], ast.Name)
        ):
            names.add(inner.args[0].id)
        elif isinstance(inner, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            names.update(
                t.value.id
                for t in _targets(inner)
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
            )
    return names
