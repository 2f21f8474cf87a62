"""Probes for training_loop: run the student's train() on an nn.Linear, with spies attached."""

from __future__ import annotations

import inspect
from typing import Any

import torch

from grader.sandbox.probing import (
    CallLog,
    SpyCriterion,
    probe,
    spy_module,
    spy_optimizer,
    to_floats,
)

OPTIMIZERS = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam}
CRITERIA = {"MSELoss": torch.nn.MSELoss, "CrossEntropyLoss": torch.nn.CrossEntropyLoss}
MAX_REPORTED = 1000


@probe
def train(
    student: Any,
    state: dict[str, torch.Tensor],
    inputs: torch.Tensor,
    labels: torch.Tensor,
    criterion: str,
    optimizer: dict[str, Any],
    epochs: int,
) -> dict[str, Any]:
    """Call train(model, inputs, labels, criterion, optimizer, epochs) positionally."""
    out_features, in_features = state["weight"].shape
    model = torch.nn.Linear(in_features, out_features)
    model.load_state_dict(state)
    log = CallLog()
    spy_module(model, log)
    loss_fn = SpyCriterion(CRITERIA[criterion](), log)
    settings = {k: v for k, v in optimizer.items() if k != "name"}
    opt = spy_optimizer(OPTIMIZERS[optimizer["name"]](model.parameters(), **settings), log)
    returned = student.train(model, inputs, labels, loss_fn, opt, epochs)
    log.finish()
    observed: dict[str, Any] = {
        "returned_type": type(returned).__name__,
        "final_state": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "calls": log.events[: MAX_REPORTED * 6],
        "inferred": log.inferred[:MAX_REPORTED],
        "grads_clear": log.grads_clear[:MAX_REPORTED],
        "forward_shapes": log.forward_shapes[:MAX_REPORTED],
        "output_shapes": log.output_shapes[:3],
        "criterion_shapes": loss_fn.argument_shapes[:3],
    }
    if isinstance(returned, torch.Tensor) or (
        type(returned).__module__ == "numpy" and type(returned).__name__ == "ndarray"
    ):
        observed["returned_shape"] = [int(n) for n in returned.shape]
    if isinstance(returned, (list, tuple)):
        items = list(returned)[:MAX_REPORTED]
        observed.update(
            length=len(returned),
            item_types=[type(v).__name__ for v in items],
            item_kinds=[_kind(v) for v in items],
            item_requires_grad=[bool(getattr(v, "requires_grad", False)) for v in items],
            values=to_floats(items),
        )
    return observed


def _kind(value: Any) -> str:
    """What a returned loss is, in the words a hint needs: a float, a tensor, a NumPy array or
    number, a method that was never called (`loss.item`), or something else."""
    if type(value).__module__ == "numpy":
        return "numpy_array" if type(value).__name__ == "ndarray" else "numpy_number"
    if isinstance(value, float):
        return "float"
    if isinstance(value, torch.Tensor):
        return "tensor"
    if callable(value):
        return "method"
    return "other"


@probe
def signature(student: Any) -> dict[str, Any]:
    """The names of train's parameters, to name a reordered or renamed argument."""
    function = getattr(student, "train", None)
    try:
        names = list(inspect.signature(function).parameters) if callable(function) else None
    except (TypeError, ValueError):
        names = None
    return {"parameters": names}
