"""Probes for my_sgd: drive the student's MySGD with gradients the check chose, report tensors."""

from __future__ import annotations

import importlib
from typing import Any

import torch

from grader.sandbox.probing import CallLog, probe, to_floats


def _build(student: Any, params: Any, lr: float, momentum: float | None) -> Any:
    if momentum is None:
        return student.MySGD(params, lr)
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
) -> dict[str, Any]:
    """Before each step, set every .grad to the check's value; report the parameters after it."""
    leaves = _leaves(params)
    source = (leaf for leaf in leaves) if as_generator else list(leaves)
    optimizer = _build(student, source, lr, momentum)
    trajectory = []
    for step_grads in grads:
        _set_grads(leaves, step_grads)
        optimizer.step()
        trajectory.append([leaf.detach().clone() for leaf in leaves])
    return {"trajectory": trajectory}


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
