"""Probes for my_linear. They run in the sandbox and only report what they observe."""

from __future__ import annotations

import inspect
from typing import Any

import torch

from grader.sandbox.probing import assign, kind_of, probe, tensor_info


def _build(student: Any, in_features: int, out_features: int, bias: bool | None) -> Any:
    if bias is None:
        return student.MyLinear(in_features, out_features)
    return student.MyLinear(in_features, out_features, bias=bias)


def _attributes(model: Any) -> list[str]:
    """The public names stored on an instance: plain attributes, parameters, buffers."""
    names = set(getattr(model, "__dict__", {}))
    for table in ("_parameters", "_buffers", "_modules"):
        names.update(getattr(model, "__dict__", {}).get(table, {}) or {})
    return sorted(n for n in names if not n.startswith("_") and n != "training")


def _derived(model: Any) -> list[str]:
    """weights or bias stored as the result of an operation (they have a grad_fn), such as
    `nn.Parameter(...) / 2`: no longer a Parameter, and part of a graph built in __init__."""
    return [
        name
        for name in ("weights", "bias")
        if isinstance(value := getattr(model, name, None), torch.Tensor)
        and value.grad_fn is not None
    ]


@probe
def construct(
    student: Any, in_features: int, out_features: int, bias: bool | None = None
) -> dict[str, Any]:
    model = _build(student, in_features, out_features, bias)
    is_module = isinstance(model, torch.nn.Module)
    observed: dict[str, Any] = {
        "is_module": is_module,
        "bases": [base.__name__ for base in type(model).__bases__],
        "in_features": getattr(model, "in_features", None),
        "out_features": getattr(model, "out_features", None),
        "attributes": _attributes(model),
        "weights": tensor_info(model, "weights"),
        "bias": tensor_info(model, "bias"),
        "parameters": {},
        "optimizer_sees": 0,
        "derived": _derived(model),
    }
    if not is_module:
        return observed
    try:
        seen = len(torch.optim.SGD(model.parameters(), lr=0.1).param_groups[0]["params"])
    except ValueError:
        seen = 0
    observed.update(
        parameters={name: list(p.shape) for name, p in model.named_parameters()},
        frozen=[name for name, p in model.named_parameters() if not p.requires_grad],
        optimizer_sees=seen,
        forward_overridden=type(model).forward is not torch.nn.Module.forward,
    )
    return observed


@probe
def flags(student: Any, in_features: int, out_features: int) -> dict[str, Any]:
    """What `bias` is when the flag is left out, given positionally, or given by keyword."""

    def bias_kind(*args: Any, **kwargs: Any) -> str:
        return kind_of(getattr(student.MyLinear(*args, **kwargs), "bias", None))

    return {
        "default": bias_kind(in_features, out_features),
        "keyword_true": bias_kind(in_features, out_features, bias=True),
        "positional_false": bias_kind(in_features, out_features, False),
        "keyword_false": bias_kind(in_features, out_features, bias=False),
    }


@probe
def names(student: Any) -> dict[str, Any]:
    """What the student's module and class define, to name a near miss."""
    cls = getattr(student, "MyLinear", None)
    try:
        init = list(inspect.signature(cls.__init__).parameters)[1:] if cls else None
    except (TypeError, ValueError):
        init = None
    return {
        "module": sorted(n for n in vars(student) if not n.startswith("_")),
        "classes": sorted(n for n, v in vars(student).items() if inspect.isclass(v)),
        "functions": sorted(n for n, v in vars(student).items() if inspect.isfunction(v)),
        "init_parameters": init,
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
    registered = dict(model.named_parameters())
    if output is None:
        return {"output_is_none": True, "output_requires_grad": False}
    if not isinstance(output, torch.Tensor):
        return {"output_kind": type(output).__name__[:40], "output_requires_grad": False}
    if not output.requires_grad:
        return {
            "output_requires_grad": False,
            "output": output.detach().clone(),
            # Both parameters registered and trainable: then only forward cut the graph.
            "trainable": sorted(name for name, p in registered.items() if p.requires_grad),
            "weights_grad": None,
            "bias_grad": None,
        }
    output.backward(grad_output)
    grads = {
        f"{name}_grad": registered[name].grad if name in registered else None
        for name in ("weights", "bias")
    }
    return {
        "output_requires_grad": True,
        "registered": sorted(registered),
        "output": output.detach().clone(),
        **grads,
    }


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
    return {
        "weights": tensor_info(model, "weights"),
        "bias": tensor_info(model, "bias"),
        "attributes": _attributes(model),
    }
