"""Eager grading without torch's biggest lazy imports: `torch._dynamo`, sympy, DTensor.

Eager code pulls them in for nothing:

- the first optimizer call imports `torch._dynamo` (and sympy with it, about 820 modules) only
  to disable dynamo or to call `graph_break()`, both no-ops in eager mode;
- `backward(gradient)` and `autograd.grad(grad_outputs=...)` import the symbolic-shapes module
  (and sympy) only to compare two concrete shapes;
- the first `assert_close` imports `torch.distributed.tensor` only to unwrap DTensors, which
  cannot exist before that module is loaded.

`ensure()` avoids them, faithfully. Each deferred module becomes a stand-in that answers the
eager cases itself (`graph_break`, `disable` as `torch._disable_dynamo` calls it,
`is_compiling`; `sym_eq` and `expect_true` on plain ints and bools) and loads the real module
the moment anything else is asked of it (`torch.compile`, `torch._dynamo.config`, a symbolic
int, a submodule import). Once loaded, every function the dynamo stand-in disabled is disabled
again by the real dynamo, so the process is in the state it would have been in without the
stand-in. The DTensor unwrap runs as soon as `torch.distributed.tensor` is loaded.

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
from typing import Any

VERIFIED = ("2.13.",)
DYNAMO = "torch._dynamo"
SHAPES = "torch.fx.experimental.symbolic_shapes"
DTENSOR = "torch.distributed.tensor"
_REAL = "__torchgrade_real__"  # where a stand-in keeps the real module once loaded

_lock = threading.RLock()
_status: dict[str, str] | None = None
_standins: dict[str, _Deferred] = {}
_dynamo_disabled: list[tuple[Callable[..., Any], bool]] = []


class _Existing(importlib.abc.Loader):
    """Hands back a module the real package already imported, keeping its own spec."""

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
        parent = name.rpartition(".")[0]
        standin = _standins.get(parent)
        if standin is None or (
            vars(standin)[_REAL] is None and sys.modules.get(parent) is not standin
        ):
            return None  # not ours, or the real package is importing its own parts
        standin.materialise()
        loaded = sys.modules.get(name)
        if loaded is None or loaded.__spec__ is None:
            return None
        return importlib.machinery.ModuleSpec(name, _Existing(loaded))


_FINDER = _SubmoduleFinder()


class _Deferred(types.ModuleType):
    """A stand-in module: its eager functions here, everything else from the real module."""

    def __init__(self, spec: importlib.machinery.ModuleSpec, eager: dict[str, Any]) -> None:
        super().__init__(spec.name, "eager-mode stand-in; the real module loads on first real use")
        # Where the real module is, so that walks over sys.modules (inspect.getmodule, in
        # every traceback pytest renders) find a file instead of loading the module. No
        # __path__: importing a submodule asks for it, and that loads the real package first.
        vars(self).update(eager, __spec__=spec, __loader__=spec.loader, __file__=spec.origin)
        vars(self)[_REAL] = None

    def __getattr__(self, name: str) -> Any:
        if name == "__path__" and vars(self)["__spec__"].submodule_search_locations is None:
            raise AttributeError(name)  # a plain module, like the real one: not a package
        return getattr(self.materialise(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.materialise(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self.materialise(), name)

    def materialise(self) -> types.ModuleType:
        """Replace the stand-in by the real module, wherever the stand-in was registered."""
        with _lock:
            real: types.ModuleType | None = vars(self)[_REAL]
            if real is not None:
                return real
            name = self.__name__
            parent_name, _, child = name.rpartition(".")
            parent = sys.modules[parent_name]
            if sys.modules.get(name) is self:
                del sys.modules[name]
            if vars(parent).get(child) is self:
                del vars(parent)[child]
            real = importlib.import_module(name)
            vars(self)[_REAL] = real
            if name == DYNAMO:
                for fn, recursive in _dynamo_disabled:
                    # setattr: `fn.__dynamo_disable` in a class body would be name-mangled
                    setattr(fn, "__dynamo_disable", real.disable(fn, recursive, wrapping=False))
                _dynamo_disabled.clear()
            if _status is not None:
                _status[name] = "loaded on demand"
            return real


def _real(name: str) -> types.ModuleType | None:
    standin = _standins.get(name)
    return vars(standin)[_REAL] if standin is not None else None


def _graph_break(msg: str = "") -> None:
    real = _real(DYNAMO)
    if real is not None:
        real.graph_break(msg)


def _is_compiling() -> bool:
    real = _real(DYNAMO)
    return bool(real.is_compiling()) if real is not None else False


def _disable(fn: Any = None, recursive: bool = True, *args: Any, **kwargs: Any) -> Any:
    """`torch._disable_dynamo`'s call, `disable(fn, recursive, wrapping=False)`, is answered
    here: in eager mode a disabled function is the function. Any other use gets the real one."""
    with _lock:
        if _real(DYNAMO) is None and callable(fn) and not args and kwargs == {"wrapping": False}:
            _dynamo_disabled.append((fn, recursive))
            return fn
    return _standins[DYNAMO].materialise().disable(fn, recursive, *args, **kwargs)


def _plain_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(type(v) is int for v in value)


def _sym_eq(x: Any, y: Any) -> Any:
    """Concrete shapes compare as tuples; anything symbolic goes to the real module."""
    if _real(SHAPES) is None and _plain_shape(x) and _plain_shape(y):
        return len(x) == len(y) and all(a == b for a, b in zip(x, y, strict=False))
    return _standins[SHAPES].materialise().sym_eq(x, y)


def _expect_true(a: Any, skip: int = 0) -> Any:
    if _real(SHAPES) is None and type(a) is bool:
        return a
    return _standins[SHAPES].materialise().expect_true(a, skip + 1)


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


def _verify_shapes() -> str:
    import torch.autograd
    import torch.fx.experimental

    if SHAPES in sys.modules:
        return "the symbolic-shapes module was already loaded"
    names = set(torch.autograd._make_grads.__code__.co_names)
    if not {"expect_true", "sym_eq"} <= names:
        return "autograd's gradient check is not the one this grader knows"
    return ""


def _verify_dtensor() -> str:
    from torch.testing import _comparison

    unwrap = getattr(_comparison, "_unwrap_dtensor_for_comparison", None)
    used = "_unwrap_dtensor_for_comparison" in _comparison.assert_close.__code__.co_names
    if unwrap is None or not used:
        return "assert_close does not unwrap DTensors the way this grader knows"
    return ""


def _install_standin(name: str, eager: dict[str, Any]) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = sys.modules[parent_name]
    spec = importlib.machinery.PathFinder.find_spec(name, parent.__path__)
    if spec is None:
        raise ImportError(name)
    standin = _Deferred(spec, eager)
    _standins[name] = standin
    sys.modules[name] = standin
    vars(parent)[child] = standin


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
    """Install the deferrals once per process (idempotent); say what is in force.

    Keyed by module; each value is "deferred", "loaded on demand", or why the plain import is
    paid instead.
    """
    global _status
    with _lock:
        if _status is not None:
            return dict(_status)
        import torch

        status: dict[str, str] = {}
        if not torch.__version__.startswith(VERIFIED):
            reason = f"torch {torch.__version__} is not a version this grader verified"
            _status = dict.fromkeys((DYNAMO, SHAPES, DTENSOR), reason)
            return dict(_status)
        status[DYNAMO] = _verify_dynamo() or "deferred"
        status[SHAPES] = _verify_shapes() or "deferred"
        status[DTENSOR] = _verify_dtensor() or "deferred"
        if status[DYNAMO] == "deferred":
            eager = {
                "graph_break": _graph_break,
                "disable": _disable,
                "is_compiling": _is_compiling,
            }
            _install_standin(DYNAMO, eager)
        if status[SHAPES] == "deferred":
            _install_standin(SHAPES, {"sym_eq": _sym_eq, "expect_true": _expect_true})
        if status[DTENSOR] == "deferred":
            _install_dtensor()
        if _standins:
            sys.meta_path.insert(0, _FINDER)
        _status = status
        return dict(status)
