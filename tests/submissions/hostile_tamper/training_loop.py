"""Hostile, on top of a wrong solution (zero_grad is never called): it tries to steal the
reference solution and the hidden checks, by import, through paths found from the __file__ of
modules already loaded (the grader, the probes), by walking up from the working directory,
and by absolute paths. Stolen reference code would be used instead of its own train(). It
prints one line per attempt; the test reads them from the report."""

import os
import sys

STOLEN = {}


def _attempt(label, action):
    try:
        text = action()
    except Exception as exc:
        print(f"STEAL {label}: {type(exc).__name__}")
        return
    print(f"STEAL {label}: read {len(text)} characters")
    if "def train" in text and "zero_grad" in text:
        STOLEN.setdefault("source", text)


def _read(path):
    with open(path) as handle:
        return handle.read()


def _import_reference():
    import importlib

    module = importlib.import_module("reference.training_loop")
    return _read(module.__file__)


def _from_module_files():
    grader = sys.modules["grader"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(grader.__file__)))
    return _read(os.path.join(root, "reference", "training_loop.py"))


def _loaded_probes():
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if getattr(value, "__name__", "").startswith("torchgrade_probes_"):
                return value
        frame = frame.f_back
    raise LookupError("the probes module was not found on the stack")


def _hidden_checks():
    probes = _loaded_probes()
    folder = os.path.dirname(os.path.abspath(probes.__file__))
    checks = os.path.join(folder, "checks")
    return "".join(_read(os.path.join(checks, name)) for name in sorted(os.listdir(checks)))


def _walk_up():
    here = os.getcwd()
    while True:
        candidate = os.path.join(here, "reference", "training_loop.py")
        if os.path.exists(candidate):
            return _read(candidate)
        parent = os.path.dirname(here)
        if parent == here:
            raise FileNotFoundError("no reference/ above the working directory")
        here = parent


def _absolute():
    for root in ("/work/main", "/work", os.path.expanduser("~root")):
        for directory, _subdirs, files in os.walk(root):
            if "training_loop.py" in files and directory.endswith("reference"):
                return _read(os.path.join(directory, "training_loop.py"))
    raise FileNotFoundError("no reference/training_loop.py under the guessed roots")


_attempt("import reference", _import_reference)
_attempt("grader __file__", _from_module_files)
_attempt("hidden checks", _hidden_checks)
_attempt("walk up from cwd", _walk_up)
_attempt("absolute paths", _absolute)
_attempt("/etc/passwd", lambda: _read("/etc/passwd"))
_attempt("home folder", lambda: str(os.listdir(os.path.expanduser("~root"))))

if "source" in STOLEN:
    exec(STOLEN["source"])
else:

    def train(model, inputs, labels, criterion, optimizer, epochs):
        losses = []
        for epoch in range(epochs):
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses
