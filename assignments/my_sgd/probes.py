"""Probes for my_sgd: drive the student's MySGD with gradients the check chose, report tensors."""

from __future__ import annotations

import importlib
from typing import Any

import torch

from grader.sandbox.probing import CallLog, probe, to_floats


def _build(
    student: Any, params: Any, lr: float, momentum: float | None, positional: bool = False
) -> Any:
    if momentum is None:
        return student.MySGD(params, lr)
    if positional:
        return student.MySGD(params, lr, momentum)
    return student.MySGD(params, lr, momentum=momentum)


def _leaves(values: list[torch.Tensor]) -> list[torch.Tensor]:
    return [value.clone().requires_grad_() for value in values]


def _set_grads(leaves: list[torch.Tensor], grads: list[torch.Tensor | None]) -> None:
    for leaf, grad in zip(leaves, grads, strict=True):
        leaf.grad = None if grad is None else grad.clone()


@probe
def zero_grad(
    student: Any, params: list[torch.Tensor], grads: list[torch.Tensor | None]
) -> dict[str, Any]:
    """Set the gradients, call zero_grad(), report what is left in each .grad."""
    leaves = _leaves(params)
    optimizer = _build(student, leaves, 0.1, None)
    _set_grads(leaves, grads)
    optimizer.zero_grad()
    return {"grads": [leaf.grad for leaf in leaves]}


@probe
def steps(
    student: Any,
    params: list[torch.Tensor],
    grads: list[list[torch.Tensor | None]],
    lr: float,
    momentum: float | None = None,
    as_generator: bool = False,
    positional: bool = False,
    in_place_grads: bool = False,
) -> dict[str, Any]:
    """Before each step, set every .grad to the check's value; report the parameters after it.

    `in_place_grads` writes each new gradient into the existing `.grad` tensor, as a backward
    pass does after a zero_grad() that zeroes in place; otherwise `.grad` is a new tensor.
    """
    leaves = _leaves(params)
    source = (leaf for leaf in leaves) if as_generator else list(leaves)
    optimizer = _build(student, source, lr, momentum, positional)
    trajectory = []
    for step_grads in grads:
        if in_place_grads:
            _write_grads(leaves, step_grads)
        else:
            _set_grads(leaves, step_grads)
        optimizer.step()
        trajectory.append([leaf.detach().clone() for leaf in leaves])
    return {
        "trajectory": trajectory,
        "leaves": [bool(leaf.is_leaf and leaf.requires_grad) for leaf in leaves],
    }


def _write_grads(leaves: list[torch.Tensor], grads: list[torch.Tensor | None]) -> None:
    for leaf, grad in zip(leaves, grads, strict=True):
        if grad is None:
            leaf.grad = None
        elif leaf.grad is None:
            leaf.grad = grad.clone()
        else:
            with torch.no_grad():
                leaf.grad.copy_(grad)


def _attempt(run: Any) -> str:
    """ "" when `run()` works, else the exception's type and message."""
    try:
        run()
    except Exception as exc:  # any student error is data here
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return ""


@probe
def diagnose(student: Any, params: list[torch.Tensor], grads: list[torch.Tensor]) -> dict[str, Any]:
    """Small scenarios, each on its own, to tell apart the causes of one symptom."""
    found: dict[str, Any] = {}

    def zero_grad_on_none() -> None:
        leaves = _leaves(params)
        _build(student, leaves, 0.1, None).zero_grad()

    def first_momentum_step() -> None:
        leaves = _leaves(params)
        optimizer = _build(student, leaves, 0.1, 0.9)
        _set_grads(leaves, grads)
        optimizer.step()

    def step_with_a_missing_grad() -> None:
        leaves = _leaves(params)
        optimizer = _build(student, leaves, 0.1, 0.9)
        _set_grads(leaves, grads)
        optimizer.step()
        _set_grads(leaves, [None, *grads[1:]])
        optimizer.step()

    def moved(as_generator: bool) -> list[bool]:
        leaves = _leaves(params)
        source = (leaf for leaf in leaves) if as_generator else list(leaves)
        optimizer = _build(student, source, 0.1, None)
        result = []
        for _ in range(2):
            before = [leaf.detach().clone() for leaf in leaves]
            _set_grads(leaves, grads)
            optimizer.step()
            result.append(any(not torch.equal(b, a) for b, a in zip(before, leaves, strict=True)))
        return result

    found["zero_grad_on_none"] = _attempt(zero_grad_on_none)
    found["first_momentum_step"] = _attempt(first_momentum_step)
    found["step_with_a_missing_grad"] = _attempt(step_with_a_missing_grad)
    for name, as_generator in (("list_moves", False), ("generator_moves", True)):
        outcome: list[bool] = []
        error = _attempt(lambda: outcome.extend(moved(as_generator)))  # noqa: B023
        found[name] = error or outcome
    return found


@probe
def train(
    student: Any,
    state: dict[str, torch.Tensor],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    lr: float,
    momentum: float,
    epochs: int,
) -> dict[str, Any]:
    """The standard loop on an nn.Linear, with the student's optimizer; losses per epoch."""
    out_features, in_features = state["weight"].shape
    model = torch.nn.Linear(in_features, out_features)
    model.load_state_dict(state)
    optimizer = _build(student, model.parameters(), lr, momentum)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {
        "losses": to_floats(losses),
        "final_state": {k: v.detach().clone() for k, v in model.state_dict().items()},
    }


class _TorchOptimizerWatch:
    """Record uses of torch's own SGD while student code runs."""

    def __init__(self, log: CallLog) -> None:
        self.log = log
        self.saved: list[tuple[Any, str, Any]] = []

    def _wrap(self, owner: Any, name: str, label: str) -> None:
        real = getattr(owner, name)
        log = self.log

        def spy(*args: Any, **kwargs: Any) -> Any:
            log.record(label)
            return real(*args, **kwargs)

        self.saved.append((owner, name, real))
        setattr(owner, name, spy)

    def __enter__(self) -> _TorchOptimizerWatch:
        self._wrap(torch.optim.SGD, "__init__", "torch.optim.SGD")
        self._wrap(torch.optim.SGD, "step", "torch.optim.SGD.step")
        functional = importlib.import_module("torch.optim._functional")
        self._wrap(importlib.import_module("torch.optim.sgd"), "sgd", "torch.optim.sgd.sgd")
        self._wrap(functional, "sgd", "torch.optim._functional.sgd")
        # A student who imported `sgd` before this watch started still reaches these.
        sgd_module = importlib.import_module("torch.optim.sgd")
        for name in ("_single_tensor_sgd", "_multi_tensor_sgd", "_fused_sgd"):
            if hasattr(sgd_module, name):
                self._wrap(sgd_module, name, "torch.optim.sgd.sgd")
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, real in reversed(self.saved):
            setattr(owner, name, real)


@probe
def hand_written(student: Any, params: list[torch.Tensor], grads: list[torch.Tensor]) -> dict:
    """Construct, zero_grad and step with torch's SGD watched; report which parts were used."""
    log = CallLog()
    leaves = _leaves(params)
    with _TorchOptimizerWatch(log):
        optimizer = _build(student, leaves, 0.1, 0.9)
        optimizer.zero_grad()
        _set_grads(leaves, grads)
        optimizer.step()
    return {"calls": sorted(set(log.events))}


def _tensors_in(value: Any, depth: int = 4, seen: set[int] | None = None) -> list[torch.Tensor]:
    """The tensors an object holds: in its attributes, lists, tuples, sets and dicts (keys
    too), a few levels deep. Never raises: a hostile `__dict__` gives what was found so far."""
    seen = set() if seen is None else seen
    if id(value) in seen or depth < 0:
        return []
    seen.add(id(value))
    if isinstance(value, torch.Tensor):
        return [value]
    found: list[torch.Tensor] = []
    try:
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()]
        elif isinstance(value, (list, tuple, set, frozenset)):
            children = list(value)
        elif isinstance(value, (str, bytes, int, float, bool, type(None))):
            children = []
        else:
            children = list(vars(value).values())
    except Exception:
        children = []
    for child in children[:10_000]:
        found.extend(_tensors_in(child, depth - 1, seen))
    return found


@probe
def stored(student: Any, params: list[torch.Tensor]) -> dict[str, Any]:
    """MySGD(params, 0.1) on a list: which of the given tensors it holds afterwards, by
    identity, and how many other tensors it holds that share a given tensor's memory
    (`p.detach()`, `p.data`) or are new (copies)."""
    leaves = _leaves(params)
    optimizer = _build(student, list(leaves), 0.1, None)
    held = _tensors_in(optimizer)
    ids = {id(leaf) for leaf in leaves}
    pointers = {leaf.data_ptr() for leaf in leaves}
    kept = [any(t is leaf for t in held) for leaf in leaves]
    others = [t for t in held if id(t) not in ids]
    return {
        "kept": kept,
        "sharing": sum(1 for t in others if t.data_ptr() in pointers),
        "others": len(others),
    }
