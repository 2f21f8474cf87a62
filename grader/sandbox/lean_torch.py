"""Eager grading without torch's two biggest lazy imports, `torch._dynamo` and DTensor.

The first optimizer call imports `torch._dynamo` (and sympy with it, about 820 modules) only to
disable dynamo or to call `graph_break()`, both no-ops in eager mode; the first `assert_close`
imports `torch.distributed.tensor` only to unwrap DTensors, which cannot exist unless that module
is loaded. Together they cost as much CPU as `import torch`.

`ensure()` avoids both, faithfully:

- `torch._dynamo` becomes a stand-in that answers the eager no-ops (`graph_break`, `disable` as
  `torch._disable_dynamo` calls it, `is_compiling`) and loads the real module the moment
  anything else is asked of it (`torch.compile`, `torch._dynamo.config`, a submodule import).
  Once loaded, every function the stand-in disabled is disabled again by the real dynamo, so
  the process is in the state it would have been in without the stand-in;
- the DTensor unwrap runs only once `torch.distributed.tensor` is loaded.

Only for torch versions whose sources were read and whose code still matches at start-up
(`VERIFIED`); otherwise nothing changes and the imports are paid as before. Library code only:
no check and no student code is involved, so the zygote may be forked after it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

VERIFIED = ("2.13.",)
DYNAMO = "torch._dynamo"
DTENSOR = "torch.distributed.tensor"

_lock = threading.RLock()
_status: dict[str, str] | None = None


class _Existing(importlib.abc.Loader):
    """Loads a module the real `torch._dynamo` already imported, keeping its own spec."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        vars(module)["__spec__"] = self.spec  # some modules refuse setattr (torch's configs)


class _SubmoduleFinder(importlib.abc.MetaPathFinder):
    """`import torch._dynamo.X` through the stand-in. Asking the stand-in for `__path__` has
    loaded the real package, which has usually imported X already: hand that module back
    instead of letting the path finder execute X a second time."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not name.startswith(DYNAMO + "."):
            return None
        if _Dynamo.real is None and sys.modules.get(DYNAMO) is not _STANDIN:
            return None  # the real package is being imported: its own imports, as usual
        _Dynamo.materialise()
        loaded = sys.modules.get(name)
        if loaded is None or loaded.__spec__ is None:
            return None
        return importlib.machinery.ModuleSpec(name, _Existing(loaded))


_FINDER = _SubmoduleFinder()


class _Dynamo(types.ModuleType):
    """The stand-in for `torch._dynamo`: eager no-ops here, everything else from the real one."""

    real: types.ModuleType | None = None
    disabled: ClassVar[list[tuple[Callable[..., Any], bool]]] = []

    def __init__(self, spec: importlib.machinery.ModuleSpec | None) -> None:
        super().__init__(DYNAMO, "eager-mode stand-in; the real module loads on first real use")
        # Where the real module is, so that walks over sys.modules (inspect.getmodule, in
        # every traceback pytest renders) find a file instead of loading dynamo. No __path__:
        # importing a submodule asks for it, and that loads the real package first.
        where = (
            {"__spec__": spec, "__loader__": spec.loader, "__file__": spec.origin} if spec else {}
        )
        self.__dict__.update(
            where, graph_break=_graph_break, disable=_disable, is_compiling=_is_compiling
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(_Dynamo.materialise(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(_Dynamo.materialise(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(_Dynamo.materialise(), name)

    @staticmethod
    def materialise() -> types.ModuleType:
        """Replace the stand-in by the real `torch._dynamo` and re-disable what it disabled."""
        with _lock:
            if _Dynamo.real is not None:
                return _Dynamo.real
            import torch

            if sys.modules.get(DYNAMO) is _STANDIN:
                del sys.modules[DYNAMO]
            if torch.__dict__.get("_dynamo") is _STANDIN:
                del torch.__dict__["_dynamo"]
            real = importlib.import_module(DYNAMO)
            _Dynamo.real = real
            for fn, recursive in _Dynamo.disabled:
                # setattr: inside a class body `fn.__dynamo_disable` would be name-mangled
                setattr(fn, "__dynamo_disable", real.disable(fn, recursive, wrapping=False))
            _Dynamo.disabled.clear()
            if _status is not None:
                _status["dynamo"] = "loaded on demand"
            return real


def _graph_break(msg: str = "") -> None:
    if _Dynamo.real is not None:
        _Dynamo.real.graph_break(msg)


def _is_compiling() -> bool:
    if _Dynamo.real is not None:
        return bool(_Dynamo.real.is_compiling())
    return False


def _disable(fn: Any = None, recursive: bool = True, *args: Any, **kwargs: Any) -> Any:
    """`torch._disable_dynamo`'s call, `disable(fn, recursive, wrapping=False)`, is answered
    here: in eager mode a disabled function is the function. Any other use gets the real one."""
    with _lock:
        if _Dynamo.real is None and callable(fn) and not args and kwargs == {"wrapping": False}:
            _Dynamo.disabled.append((fn, recursive))
            return fn
    return _Dynamo.materialise().disable(fn, recursive, *args, **kwargs)


_STANDIN: _Dynamo | None = None


def _verify_dynamo() -> str:
    """Why the stand-in cannot be used here, or "" when torch's code is as it was read."""
    import torch
    import torch._compile
    import torch.optim.optimizer

    if DYNAMO in sys.modules:
        return "torch._dynamo was already loaded"
    outer = torch._compile._disable_dynamo.__code__
    inner = next((c for c in outer.co_consts if isinstance(c, types.CodeType)), None)
    if inner is None or not {"__dynamo_disable", "disable"} <= set(inner.co_names):
        return "torch._disable_dynamo is not the one this grader knows"
    step = torch.optim.SGD.step
    if "graph_break" not in step.__code__.co_names or "_dynamo" not in step.__code__.co_names:
        return "Optimizer.step is not wrapped the way this grader knows"
    return ""


def _verify_dtensor() -> str:
    from torch.testing import _comparison

    unwrap = getattr(_comparison, "_unwrap_dtensor_for_comparison", None)
    if (
        unwrap is None
        or "_unwrap_dtensor_for_comparison" not in _comparison.assert_close.__code__.co_names
    ):
        return "assert_close does not unwrap DTensors the way this grader knows"
    return ""


def _install_dtensor() -> None:
    from torch.testing import _comparison

    original = _comparison._unwrap_dtensor_for_comparison

    def unwrap(actual: Any, expected: Any) -> Any:
        # A DTensor is an instance of a class in torch.distributed.tensor: none can exist
        # before that package is imported, and then the original runs.
        if DTENSOR not in sys.modules:
            return actual, expected
        return original(actual, expected)

    unwrap.__wrapped__ = original  # type: ignore[attr-defined]
    _comparison._unwrap_dtensor_for_comparison = unwrap


def ensure() -> dict[str, str]:
    """Install both deferrals once per process (idempotent); say what is in force.

    Each value is "deferred", "loaded on demand", or why the plain import is paid instead.
    """
    global _status, _STANDIN
    with _lock:
        if _status is not None:
            return dict(_status)
        import torch

        status: dict[str, str] = {}
        if not torch.__version__.startswith(VERIFIED):
            reason = f"torch {torch.__version__} is not a version this grader verified"
            status = {"dynamo": reason, "dtensor_unwrap": reason}
        else:
            status["dynamo"] = _verify_dynamo() or "deferred"
            status["dtensor_unwrap"] = _verify_dtensor() or "deferred"
            if status["dynamo"] == "deferred":
                _STANDIN = _Dynamo(importlib.machinery.PathFinder.find_spec(DYNAMO, torch.__path__))
                sys.modules[DYNAMO] = _STANDIN
                torch.__dict__["_dynamo"] = _STANDIN
                sys.meta_path.insert(0, _FINDER)
            if status["dtensor_unwrap"] == "deferred":
                _install_dtensor()
        _status = status
        return dict(status)
