"""Integrity flags: a static scan of a submission for constructs an honest solution never needs.

This is a signal for the instructor who reviews the report, not a defence and not a score: the
sandbox must stand without it, and a flag is not proof of cheating. The scan parses each `.py`
file with `ast` (nothing is imported or run) and looks for frame walking, `gc`, `ctypes`,
process and signal control, network access, file writes, dynamic imports, monkeypatching of
imported modules, paths that reach outside the submission folder, and CI workflow commands in
strings. Files that pytest or Python would pick up by name (`conftest.py`, `sitecustomize.py`,
a module shadowing `torch`, ...) are flagged too, and so are source lines holding bidi or
invisible characters (Trojan Source) and sources that are not plain UTF-8 (`sandbox.source`). A
file that does not parse has no other findings.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from grader.messages import say
from grader.report import IntegrityFinding
from grader.sandbox import source as source_text
from grader.sandbox.filenames import name_of

MAX_SCAN_BYTES = 2 << 20
MAX_FINDINGS_PER_FILE = 50
# Deep enough for any expression a person writes; a walk that still runs out says so.
SCAN_RECURSION_LIMIT = 20_000
TOO_DEEP_REASON = "nests expressions too deeply for the grader to read them all"

MODULES = {
    "ctypes": ("native-code", "calls C code directly, outside Python's safety"),
    "cffi": ("native-code", "calls C code directly, outside Python's safety"),
    "gc": ("memory-search", "can reach any object in memory, such as the grader's values"),
    "inspect": ("frame-access", "inspects frames and source code of the caller"),
    "signal": ("signal-control", "changes how the process reacts to signals and timeouts"),
    "subprocess": ("process-control", "starts other programs"),
    "multiprocessing": ("process-control", "starts other processes"),
    "pty": ("process-control", "starts other processes"),
    "socket": ("network", "opens network connections"),
    "ssl": ("network", "opens network connections"),
    "http": ("network", "opens network connections"),
    "urllib": ("network", "opens network connections"),
    "requests": ("network", "opens network connections"),
    "importlib": ("dynamic-import", "imports modules by computed name"),
    "builtins": ("builtins-patch", "can replace Python's built-in functions"),
    "pytest": ("test-framework", "imports the test framework the grader uses"),
    "_pytest": ("test-framework", "imports the test framework the grader uses"),
    "unittest": ("test-framework", "imports a test framework"),
    "grader": ("grader-access", "imports the grader itself"),
    "reference": ("answer-access", "imports the reference solution"),
    "assignments": ("answer-access", "imports the hidden checks"),
    "shutil": ("file-write", "copies, moves or deletes files"),
    "tempfile": ("file-write", "creates files"),
    "pickle": ("serialization", "unpickling can run arbitrary code"),
    "marshal": ("serialization", "loads raw code objects"),
}
CALLS = {
    "sys._getframe": ("frame-access", "walks the caller's stack frames"),
    "sys._current_frames": ("frame-access", "reads every thread's stack frames"),
    "sys.settrace": ("frame-access", "traces the execution of other code"),
    "sys.setprofile": ("frame-access", "traces the execution of other code"),
    "sys.exit": ("process-exit", "stops the whole process instead of returning"),
    "exit": ("process-exit", "stops the whole process instead of returning"),
    "quit": ("process-exit", "stops the whole process instead of returning"),
    "os._exit": ("process-exit", "ends the process at once, skipping all cleanup"),
    "os.abort": ("process-exit", "ends the process at once"),
    "os.kill": ("process-control", "sends signals to processes"),
    "os.killpg": ("process-control", "sends signals to process groups"),
    "os.getppid": ("process-control", "looks up the parent process (the grader)"),
    "os.fork": ("process-control", "starts a copy of the process"),
    "os.forkpty": ("process-control", "starts a copy of the process"),
    "os.setsid": ("process-control", "detaches from the grader's process group"),
    "os.system": ("process-control", "runs a shell command"),
    "os.popen": ("process-control", "runs a shell command"),
    "__import__": ("dynamic-import", "imports a module by computed name"),
    "exec": ("dynamic-code", "runs code built at run time"),
    "eval": ("dynamic-code", "runs code built at run time"),
    "compile": ("dynamic-code", "builds code at run time"),
    "globals": ("namespace-access", "reads or changes module globals directly"),
    "os.chdir": ("outside-path", "changes the working directory"),
    "os.getcwd": ("outside-path", "looks up the working directory"),
    "os.getenv": ("environment", "reads environment variables"),
    "os.putenv": ("environment", "changes environment variables"),
}
OS_PREFIXES = {
    "os.exec": ("process-control", "replaces the process with another program"),
    "os.spawn": ("process-control", "starts other programs"),
    "os.posix_spawn": ("process-control", "starts other programs"),
}
FILE_WRITE_CALLS = {
    "os.remove",
    "os.unlink",
    "os.rmdir",
    "os.removedirs",
    "os.rename",
    "os.replace",
    "os.mkdir",
    "os.makedirs",
    "os.symlink",
    "os.link",
    "os.chmod",
    "os.chown",
    "os.truncate",
    "os.open",
    "os.write",
    "os.mkfifo",
}
PATH_WRITE_METHODS = {
    "write_text",
    "write_bytes",
    "touch",
    "mkdir",
    "unlink",
    "rmdir",
    "symlink_to",
}
FRAME_ATTRIBUTES = {
    "f_back",
    "f_globals",
    "f_locals",
    "f_builtins",
    "tb_frame",
    "gi_frame",
    "cr_frame",
    "__globals__",
    "__builtins__",
    "__subclasses__",
}
SUSPICIOUS_DUNDERS = {
    "__torch_function__": "changes how torch functions treat its objects",
    "__torch_dispatch__": "intercepts torch's low-level operations",
    "__eq__": "changes what == returns, so comparisons can always succeed",
    "__ne__": "changes what != returns",
    "__instancecheck__": "changes what isinstance returns",
}
INJECTION_FILES = {
    "conftest.py": "pytest loads conftest.py automatically",
    "sitecustomize.py": "Python runs sitecustomize.py at start-up",
    "usercustomize.py": "Python runs usercustomize.py at start-up",
    "pytest.ini": "configures pytest",
    "tox.ini": "can configure pytest",
    "setup.cfg": "can configure pytest",
    "pyproject.toml": "can configure pytest",
    "torch.py": "shadows the torch package",
    "numpy.py": "shadows the numpy package",
    "pytest.py": "shadows the pytest package",
    "grader.py": "shadows the grader package",
    "builtins.py": "shadows the builtins module",
}
INJECTION_DIRS = {"grader", "torch", "numpy", "pytest", "_pytest", "assignments", "reference"}
_ABSOLUTE_PATH = re.compile(r"^(/|~/|[A-Za-z]:\\)[\w.~-]")
_PARENT_PATH = re.compile(r"(^|[/\\])\.\.($|[/\\])")
_WORKFLOW_COMMAND = re.compile(r"(^|\n)\s*(::[a-z-]+|##\[)", re.IGNORECASE)
_GRADER_FILES = re.compile(
    r"report\.json|results\.json|GITHUB_(OUTPUT|STEP_SUMMARY|ENV)|/reference\b|/assignments\b"
)
_WRITE_MODE = re.compile(r"[wax+]")


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


class _Scanner(ast.NodeVisitor):
    def __init__(self, file: str) -> None:
        self.file = file
        self.findings: list[IntegrityFinding] = []
        self.aliases: dict[str, str] = {}
        self.docstrings: set[int] = set()

    def flag(self, node: ast.AST, code: str, reason: str) -> None:
        if len(self.findings) < MAX_FINDINGS_PER_FILE:
            line = getattr(node, "lineno", 0)
            self.findings.append(
                IntegrityFinding(file=self.file, line=line, code=code, reason=reason)
            )

    def resolve(self, node: ast.AST) -> str:
        """The dotted name with import aliases undone: `np.load` -> `numpy.load`."""
        dotted = _dotted(node)
        head, _, rest = dotted.partition(".")
        if head in self.aliases:
            head = self.aliases[head]
        return f"{head}.{rest}" if rest else head

    def _import(self, node: ast.AST, module: str) -> None:
        root = module.split(".")[0]
        if module in MODULES:
            self.flag(node, *MODULES[module])
        elif root in MODULES:
            self.flag(node, *MODULES[root])
        if module.startswith("torch.testing") or module.startswith("torch._"):
            self.flag(node, "torch-internals", f"imports {module}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.aliases[alias.asname or alias.name.split(".")[0]] = (
                alias.name if alias.asname else alias.name.split(".")[0]
            )
            self._import(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            self.flag(node, "outside-path", "imports relative to a parent package")
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
            self._import(node, f"{module}.{alias.name}" if module else alias.name)
        if module:
            self._import(node, module)

    def visit_Call(self, node: ast.Call) -> None:
        name = self.resolve(node.func)
        if name in CALLS:
            self.flag(node, *CALLS[name])
        for prefix, finding in OS_PREFIXES.items():
            if name.startswith(prefix):
                self.flag(node, *finding)
        if name in FILE_WRITE_CALLS:
            self.flag(node, "file-write", f"{name} changes files")
        if name in ("open", "io.open", "builtins.open", "os.fdopen"):
            self._check_open(node)
        if isinstance(node.func, ast.Attribute):
            if node.func.attr in PATH_WRITE_METHODS:
                self.flag(node, "file-write", f".{node.func.attr}() changes files")
            elif node.func.attr == "open":
                self._check_open(node, mode_position=0)
        if name in ("setattr", "delattr") and node.args:
            root = _dotted(node.args[0]).split(".")[0]
            if root in self.aliases or root == "__builtins__":
                self.flag(node, "monkeypatch", f"{name} on {self.resolve(node.args[0])}")
        self.generic_visit(node)

    def _check_open(self, node: ast.Call, mode_position: int = 1) -> None:
        mode = None
        if len(node.args) > mode_position:
            mode = node.args[mode_position]
        for keyword in node.keywords:
            if keyword.arg == "mode":
                mode = keyword.value
        if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
            if _WRITE_MODE.search(mode.value):
                self.flag(node, "file-write", f"opens a file for writing (mode {mode.value!r})")
        elif mode is not None:
            self.flag(node, "file-write", "opens a file with a computed mode")

    def _check_target(self, target: ast.AST, node: ast.AST, verb: str) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_target(element, node, verb)
            return
        if isinstance(target, ast.Subscript):
            base = self.resolve(target.value)
            if base in ("sys.modules", "__builtins__", "builtins.__dict__", "os.environ"):
                self.flag(node, "monkeypatch", f"{verb} {base}[...]")
            return
        if isinstance(target, ast.Attribute):
            root = _dotted(target).split(".")[0]
            if root in self.aliases or root == "__builtins__":
                self.flag(node, "monkeypatch", f"{verb} {self.resolve(target)}")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_target(target, node, "replaces")
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target, node, "changes")
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._check_target(node.target, node, "replaces")
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_target(target, node, "deletes")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in FRAME_ATTRIBUTES:
            self.flag(node, "frame-access", f"uses .{node.attr}, which reaches other code's state")
        elif self.resolve(node) == "os.environ":
            self.flag(node, "environment", "reads or changes environment variables")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "__file__":
            self.flag(node, "outside-path", "locates files from the module's own path")
        elif node.id == "__builtins__":
            self.flag(node, "builtins-patch", "reaches the built-in functions")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            if self.resolve(base) in ("torch.Tensor", "torch.tensor"):
                self.flag(node, "tensor-subclass", f"class {node.name} subclasses torch.Tensor")
        for item in node.body:
            name = getattr(item, "name", "") if isinstance(item, ast.FunctionDef) else ""
            if name in SUSPICIOUS_DUNDERS:
                self.flag(item, "comparison-trick", SUSPICIOUS_DUNDERS[name])
        self._mark_docstring(node)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._mark_docstring(node)
        self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._mark_docstring(node)
        self.generic_visit(node)

    def visit_Module(self, node: ast.Module) -> None:
        self._mark_docstring(node)
        self.generic_visit(node)

    def _mark_docstring(self, node: ast.AST) -> None:
        body = getattr(node, "body", [])
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            self.docstrings.add(id(body[0].value))

    def visit_Constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, str) or id(node) in self.docstrings:
            return
        text = node.value
        if _WORKFLOW_COMMAND.search(text):
            self.flag(node, "workflow-command", "a string that CI logs would read as a command")
        if _GRADER_FILES.search(text):
            self.flag(node, "grader-files", "names a file or folder the grader uses")
        if _ABSOLUTE_PATH.match(text) or _PARENT_PATH.search(text):
            self.flag(node, "outside-path", f"a path outside the submission folder: {text[:60]!r}")


def scan_source(source: str, file: str) -> list[IntegrityFinding]:
    """Findings for one file's source text; a file that does not parse has none.

    A tree too deep to walk (a 600-term `1+1+...` is enough for Python's default recursion
    limit) is a finding itself, beside what the walk saw before it gave up: Python runs such a
    file, so silence would let one line hide every other flag in it.
    """
    scanner = _Scanner(file)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, SCAN_RECURSION_LIMIT))
    try:
        tree = ast.parse(source, filename=file)
        try:
            scanner.visit(tree)
        except (RecursionError, MemoryError):
            too_deep = IntegrityFinding(file=file, line=0, code="too-deep", reason=TOO_DEEP_REASON)
            scanner.findings.append(too_deep)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    finally:
        sys.setrecursionlimit(limit)
    return sorted(scanner.findings, key=lambda f: (f.line, f.code))


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def _injection(relative: Path) -> IntegrityFinding | None:
    name = relative.name
    if name in INJECTION_FILES:
        return IntegrityFinding(
            file=relative.as_posix(), line=0, code="injection-file", reason=INJECTION_FILES[name]
        )
    if name.endswith(".pth"):
        return IntegrityFinding(
            file=relative.as_posix(),
            line=0,
            code="injection-file",
            reason="a .pth file runs code when Python starts",
        )
    if relative.parts and relative.parts[0] in INJECTION_DIRS and len(relative.parts) > 1:
        return IntegrityFinding(
            file=relative.as_posix(),
            line=0,
            code="injection-file",
            reason=f"the folder {relative.parts[0]}/ shadows a package the grader uses",
        )
    return None


def scan(folder: Path) -> list[IntegrityFinding]:
    """Findings for every file in a (staged) submission folder, in file and line order."""
    findings: list[IntegrityFinding] = []
    for path in _files(folder):
        relative = path.relative_to(folder)
        injected = _injection(relative)
        if injected is not None:
            injected.file = name_of(relative).shown
        if injected is not None:
            findings.append(injected)
        if path.suffix != ".py":
            continue
        file = name_of(relative).shown
        try:
            raw = path.read_bytes()[:MAX_SCAN_BYTES]
        except OSError:
            continue
        problem = source_text.unreadable(raw)
        if problem is not None:
            reason = say("flag_source_encoding", reason=problem.reason())
            findings.append(
                IntegrityFinding(file=file, line=0, code="source-encoding", reason=reason)
            )
            continue
        text = source_text.decoded(raw)
        for line, chars in source_text.invisible_lines(text):
            reason = say("flag_invisible_source", chars=chars)
            findings.append(
                IntegrityFinding(file=file, line=line, code="invisible-source", reason=reason)
            )
        findings.extend(scan_source(text, file))
    return findings
