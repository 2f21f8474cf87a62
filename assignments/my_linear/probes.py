"""Probes for my_linear. They run in the sandbox and only report what they observe."""

from __future__ import annotations

from typing import Any

import torch

from grader.sandbox.probing import assign, probe, tensor_info


def _build(student: Any, in_features: int, out_features: int, bias: bool | None) -> Any:
    if bias is None:
        return student.MyLinear(in_features, out_features)
    return student.MyLinear(in_features, out_features, bias=bias)


@probe
def construct(
    student: Any, in_features: int, out_features: int, bias: bool | None = None
) -> dict[str, Any]:
    model = _build(student, in_features, out_features, bias)
    try:
        seen = len(torch.optim.SGD(model.parameters(), lr=0.1).param_groups[0]["params"])
    except ValueError:
        seen = 0
    return {
        "is_module": isinstance(model, torch.nn.Module),
        "in_features": getattr(model, "in_features", None),
        "out_features": getattr(model, "out_features", None),
        "parameters": {name: list(p.shape) for name, p in model.named_parameters()},
        "optimizer_sees": seen,
        "weights": tensor_info(model, "weights"),
        "bias": tensor_info(model, "bias"),
    }


@probe
def forward(
    student: Any,
    in_features: int,
    out_features: int,
    x: torch.Tensor,
    weights: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    use_bias: bool | None = None,
) -> dict[str, Any]:
    model = _build(student, in_features, out_features, use_bias)
    for name, value in (("weights", weights), ("bias", bias)):
        problem = assign(model, name, value) if value is not None else None
        if problem:
            return {"assign_problem": problem}
    return {"output": model(x)}


@probe
def backward(
    student: Any,
    in_features: int,
    out_features: int,
    x: torch.Tensor,
    weights: torch.Tensor,
    bias: torch.Tensor,
    grad_output: torch.Tensor,
) -> dict[str, Any]:
    model = _build(student, in_features, out_features, None)
    for name, value in (("weights", weights), ("bias", bias)):
        problem = assign(model, name, value)
        if problem:
            return {"assign_problem": problem}
    output = model(x)
    if not isinstance(output, torch.Tensor) or not output.requires_grad:
        return {"output_requires_grad": False, "weights_grad": None, "bias_grad": None}
    output.backward(grad_output)
    registered = dict(model.named_parameters())
    grads = {
        f"{name}_grad": registered[name].grad if name in registered else None
        for name in ("weights", "bias")
    }
    return {"output_requires_grad": True, "registered": sorted(registered), **grads}


@probe
def fit(
    student: Any, inputs: torch.Tensor, targets: torch.Tensor, lr: float, steps: int
) -> dict[str, Any]:
    """Train the student's layer with torch's own SGD; the judge recomputes the loss itself."""
    model = _build(student, inputs.shape[1], targets.shape[1], None)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
    return {"weights": tensor_info(model, "weights"), "bias": tensor_info(model, "bias")}
