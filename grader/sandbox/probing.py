"""Helpers for probe authors. Probes run inside the sandbox child, next to student code.

A probe builds inputs, calls student code and returns what it observed as plain data. It
never decides pass or fail: that happens in the judge, which does not trust anything here.

- `tensor_info` describes an attribute (kind, shape, dtype, requires_grad, a copy);
  `assign` loads a check's values into a student's tensor in place, and `replace` rebinds the
  attribute to a copy of them of the same kind (plain tensor, buffer or `nn.Parameter`); both
  say why they cannot, as data, so a probe's own setup is never blamed on a student's method.
- `names_of`, `signature_of` and `keys_of` return, as data, the names a student module, class,
  instance or dict actually has, so the judge can name a near miss (`grader.feedback`).
- Spies record the order of calls into one `CallLog`, which the probe returns as a list of
  names for the check to compare: `spy_optimizer` (`zero_grad`, `step`), `spy_module`
  (`forward` however the model is called, `zero_grad`, one `backward` per backward pass) and
  `SpyCriterion` (each call, with its arguments' shapes, to catch swapped arguments). A call
  a spy cannot see is inferred from its effect where it has one (see `CallLog`), so a spy
  never reports "not called" for a call that happened.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., Any])
_MISSING = object()
PROBE_MARK = "__torchgrade_probe__"


def probe(function: F) -> F:
    """Mark a function in `probes.py` as callable from checks by name."""
    setattr(function, PROBE_MARK, True)
    return function


def kind_of(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    if value is None:
        return "none"
    if isinstance(value, torch.nn.Parameter):
        return "parameter"
    if isinstance(value, torch.Tensor):
        return "tensor"
    return "other"


def tensor_info(owner: Any, name: str) -> dict[str, Any]:
    """Describe attribute `name` of `owner`: kind, type, shape, dtype, requires_grad."""
    value = getattr(owner, name, _MISSING)
    info: dict[str, Any] = {"kind": kind_of(value), "type": type(value).__name__}
    if value is _MISSING:
        info["names"] = names_of(owner)
    if isinstance(value, torch.Tensor):
        info.update(
            shape=list(value.shape),
            dtype=str(value.dtype),
            requires_grad=bool(value.requires_grad),
            value=value.detach().clone(),
        )
    return info


MAX_NAMES = 200
MAX_NAME_CHARS = 100


def _bounded(names: Iterable[Any]) -> list[str]:
    kept = sorted({n for n in names if isinstance(n, str) and len(n) <= MAX_NAME_CHARS})
    return kept[:MAX_NAMES]


def names_of(owner: Any) -> list[str]:
    """The names `owner` (a module, class or instance) has, without dunders, as data.

    For an `nn.Module` instance that includes its parameters, buffers and submodules, which
    live outside `__dict__`. Never raises: a hostile `__dir__` gives an empty list.
    """
    names: set[Any] = set()
    with contextlib.suppress(Exception):
        names.update(dir(owner))
    for table in ("_parameters", "_buffers", "_modules"):
        with contextlib.suppress(Exception):
            names.update(object.__getattribute__(owner, table))
    if isinstance(owner, types.ModuleType):
        names = {n for n in names if isinstance(n, str) and _defined_in(owner, n)}
    return _bounded(n for n in names if isinstance(n, str) and not n.startswith("__"))


def _defined_in(module: types.ModuleType, name: str) -> bool:
    """A module's own names: not imported modules, classes or functions (`torch`, `Linear`),
    which would make a near miss point at a name the student never wrote."""
    try:
        value = module.__dict__[name]
    except (KeyError, AttributeError, TypeError):
        return False
    if isinstance(value, types.ModuleType):
        return False
    if isinstance(value, type) or callable(value):
        return getattr(value, "__module__", module.__name__) == module.__name__
    return True


def signature_of(function: Any) -> list[str] | None:
    """The parameter names of a callable (a class gives its `__init__`'s), or None."""
    import inspect

    try:
        return [p for p in inspect.signature(function).parameters][:MAX_NAMES]
    except (TypeError, ValueError):
        return None


def keys_of(mapping: Any) -> list[str]:
    """The string keys of a dict-like value, as data; [] for anything else."""
    try:
        return _bounded(mapping.keys()) if isinstance(mapping, dict) else []
    except Exception:
        return []


def assign(owner: Any, name: str, value: torch.Tensor) -> dict[str, Any] | None:
    """Overwrite a tensor attribute in place, keeping it a Parameter if it is one.

    Returns None on success, or why it could not be done as data (`name`, `kind`, and
    `shape` when the attribute is a tensor of another shape, `error` when the copy raised),
    so the check can say so in the student's language instead of crashing on a copy.
    """
    current = getattr(owner, name, _MISSING)
    if not isinstance(current, torch.Tensor):
        return {"name": name, "kind": kind_of(current)}
    if tuple(current.shape) != tuple(value.shape):
        return {"name": name, "kind": kind_of(current), "shape": list(current.shape)}
    try:
        with torch.no_grad():
            current.copy_(value.to(current.dtype))
    except Exception as exc:  # an inference or expanded tensor, say: the copy is the probe's
        return {"name": name, "kind": kind_of(current), "error": error_text(exc)}
    return None


def replace(owner: Any, name: str, value: torch.Tensor) -> dict[str, Any] | None:
    """Rebind attribute `name` to a fresh copy of `value`, of the kind the attribute was.

    An `nn.Parameter` stays a Parameter (a module refuses anything else for a registered
    parameter), a buffer stays a buffer (the module keeps it in `_buffers`), and anything
    else becomes a plain tensor; each keeps the `requires_grad` flag the old tensor had (off
    when there was none). The copy is a new tensor, so nothing the student aliased to the old
    one sees the new values. Returns None on success, or why it could not be done as data
    (`name`, `kind`, `error`): setting an attribute can run student code (a property, a
    `__setattr__`), and neither that nor the probe's own setup is the student's method.
    """
    current: Any = None
    try:
        current = getattr(owner, name, None)
        wants_grad = isinstance(current, torch.Tensor) and bool(current.requires_grad)
        fresh = value.detach().clone()
        if isinstance(current, torch.nn.Parameter):
            fresh = torch.nn.Parameter(fresh, requires_grad=wants_grad)
        else:
            fresh.requires_grad_(wants_grad)
        setattr(owner, name, fresh)
    except Exception as exc:
        return {"name": name, "kind": kind_of(current), "error": error_text(exc)}
    return None


def error_text(exc: BaseException) -> str:
    """`Type: message` of an exception, bounded, for a probe to return as data."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    return f"{type(exc).__name__}: {text}"[:300]


class CallLog:
    """An ordered record of calls, shared by the spies of one probe.

    `watch(parameters)` lets the log see what a call list alone misses: an update of the
    parameters that no spied `step()` made (the student called the optimizer some other way)
    is recorded as a `step` before the next event, so a spy never reports "not called" for a
    step that happened. `inferred` counts the events recorded that way.
    """

    def __init__(self) -> None:
        self.events: list[str] = []
        self.inferred: list[str] = []
        # Filled by `spy_module`: each forward's input shape; per backward, cleared before?
        self.forward_shapes: list[list[int]] = []
        # Each spied forward's output shape (`[]` when the output is not a tensor).
        self.output_shapes: list[list[int]] = []
        # The autograd node of the last forward pass's output, spied or inferred: a criterion
        # called again on a prediction from that same pass has no forward pass to infer.
        self.last_forward_node: Any = None
        self.grads_clear: list[bool] = []
        self.parameters: list[torch.Tensor] = []
        self._versions: list[int] = []

    def watch(self, parameters: Iterable[torch.Tensor]) -> None:
        self.parameters = list(parameters)
        self._versions = self._current_versions()

    def _current_versions(self) -> list[int]:
        return [int(getattr(p, "_version", 0)) for p in self.parameters]

    def _infer_step(self) -> None:
        versions = self._current_versions()
        if versions != self._versions and (not self.events or self.events[-1] != "step"):
            self.events.append("step")
            self.inferred.append("step")
        self._versions = versions

    def record(self, event: str) -> None:
        if self.parameters:
            self._infer_step()
        self.events.append(event)
        if self.parameters:
            self._versions = self._current_versions()

    def finish(self) -> None:
        """Call once the student's code has returned: an unspied last update is recorded."""
        if self.parameters:
            self._infer_step()


def spy_optimizer(optimizer: torch.optim.Optimizer, log: CallLog) -> torch.optim.Optimizer:
    """Record `zero_grad` and `step` calls on this optimizer instance."""
    real_zero_grad = optimizer.zero_grad
    real_step = optimizer.step

    def zero_grad(*args: Any, **kwargs: Any) -> Any:
        log.record("zero_grad")
        return real_zero_grad(*args, **kwargs)

    def step(*args: Any, **kwargs: Any) -> Any:
        log.record("step")
        return real_step(*args, **kwargs)

    optimizer.zero_grad = zero_grad  # type: ignore[method-assign]
    optimizer.step = step  # type: ignore[method-assign]
    return optimizer


def _reaches(
    output: Any, parameters: list[torch.Tensor], node: Any = None, limit: int = 10_000
) -> bool:
    """Whether `output`'s autograd graph uses one of `parameters` (a forward pass happened),
    or, given `node`, whether that autograd node is in the graph."""
    ids = {id(p) for p in parameters}
    stack = [getattr(output, "grad_fn", None)]
    seen: set[int] = set()
    while stack and len(seen) < limit:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if node is not None and current is node:
            return True
        if node is None and id(getattr(current, "variable", None)) in ids:
            return True
        stack.extend(next_node for next_node, _ in getattr(current, "next_functions", ()))
    return False


def spy_module(model: torch.nn.Module, log: CallLog) -> torch.nn.Module:
    """Record forward passes, `zero_grad` on the model, and each backward pass.

    The forward spy replaces the instance's `forward`, which every way of calling a module
    goes through (`model(x)`, `model.forward(x)`, `nn.Module.__call__(model, x)`, a wrapping
    module, `torch.func.functional_call`); a forward the spy still misses (say
    `nn.Linear.forward(model, x)`) is inferred by `SpyCriterion` from the autograd graph of
    the outputs. One backward event is recorded per backward pass that reaches the parameters,
    however it was started (`loss.backward()`, `torch.autograd.backward`, `autograd.grad`),
    and `log.grads_clear` says, for each, whether the gradients were cleared beforehand (by
    `zero_grad` or by hand), so a check can tell a missing clear from an unspied one.
    """
    parameters = [p for p in model.parameters() if p.requires_grad]
    log.watch(parameters)
    real_zero_grad = model.zero_grad
    real_forward = model.forward

    def zero_grad(*args: Any, **kwargs: Any) -> Any:
        log.record("zero_grad")
        return real_zero_grad(*args, **kwargs)

    def forward(*args: Any, **kwargs: Any) -> Any:
        first = args[0] if args else next(iter(kwargs.values()), None)
        log.forward_shapes.append(list(getattr(first, "shape", [])))
        log.record("forward")
        output = real_forward(*args, **kwargs)
        log.output_shapes.append(list(getattr(output, "shape", [])))
        log.last_forward_node = getattr(output, "grad_fn", None)
        return output

    def backward(*_: Any) -> None:
        clear = all(p.grad is None or not bool(p.grad.any()) for p in parameters)
        log.grads_clear.append(clear)
        log.record("backward")

    model.zero_grad = zero_grad  # type: ignore[method-assign]
    model.forward = forward
    if parameters:
        torch.autograd.graph.register_multi_grad_hook(parameters, backward, mode="any")
    return model


class SpyCriterion(torch.nn.Module):
    """Wrap a loss module and record each call, with the shapes of its two arguments.

    Called with outputs that come from the watched parameters while no forward pass was
    recorded since the last criterion call, it records the forward pass it missed first
    (one that bypassed the forward spy, such as `nn.Linear.forward(model, x)`). Outputs of
    the last forward pass already recorded (the same `outputs` passed to the criterion a
    second time, say to log the loss) are no new forward pass: nothing is inferred for them.
    """

    def __init__(self, criterion: torch.nn.Module, log: CallLog) -> None:
        super().__init__()
        self.criterion = criterion
        self.log = log
        self.argument_shapes: list[list[list[int]]] = []

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        arguments = list(args) + [kwargs[k] for k in ("input", "target") if k in kwargs]
        events = self.log.events
        since = (
            events[len(events) - events[::-1].index("criterion") :]
            if "criterion" in events
            else events
        )
        prediction = arguments[0] if arguments else None
        last = self.log.last_forward_node
        if (
            arguments
            and "forward" not in since
            and _reaches(prediction, self.log.parameters)
            and not (last is not None and _reaches(prediction, [], node=last))
        ):
            self.log.record("forward")
            self.log.inferred.append("forward")
            self.log.last_forward_node = getattr(prediction, "grad_fn", None)
        self.log.record("criterion")
        self.argument_shapes.append([list(getattr(a, "shape", [])) for a in arguments[:2]])
        return self.criterion(*args, **kwargs)


def to_floats(values: Iterable[Any]) -> list[float | None]:
    """Best-effort conversion for display; `None` where a value is not a number."""
    converted: list[float | None] = []
    for value in values:
        try:
            converted.append(float(value))
        except (TypeError, ValueError, RuntimeError):
            converted.append(None)
    return converted
