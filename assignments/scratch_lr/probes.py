"""Probes for scratch_lr: build LR, set its state, call one method, report the tensors."""

from __future__ import annotations

from typing import Any

import torch

from grader.sandbox.probing import CallLog, error_text, kind_of, probe, replace, tensor_info


def _build(student: Any, dim: int, lr: float | None = None) -> Any:
    if lr is None:
        return student.LR(dim)
    return student.LR(dim, lr=torch.scalar_tensor(lr))


def _set_state(
    model: Any,
    w: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    grads: dict[str, torch.Tensor] | None = None,
) -> dict[str, Any] | None:
    """Replace w and b with copies of the check's, each of the kind the student's was (plain
    tensor, buffer or frozen `nn.Parameter`) and with its requires_grad flag, and `grads`
    with a dict of copies. Returns None, or why one could not be set, as data: that is the
    probe's setup failing, not the student's method."""
    for name, value in (("w", w), ("b", b)):
        if value is not None:
            problem = replace(model, name, value)
            if problem:
                return problem
    if grads is not None:
        try:
            model.grads = {key: value.clone() for key, value in grads.items()}
        except Exception as exc:  # a `grads` property without a setter, say
            return {"name": "grads", "kind": "other", "error": error_text(exc)}
    return None


def _grad_info(model: Any) -> dict[str, Any]:
    grads = getattr(model, "grads", None)
    if not isinstance(grads, dict):
        return {"kind": type(grads).__name__}
    holder = type("Grads", (), {})()
    for key in ("dw", "db"):
        if key in grads:
            setattr(holder, key, grads[key])
    keys = [key for key in grads if isinstance(key, str)][:20]
    return {
        "kind": "dict",
        "dw": tensor_info(holder, "dw"),
        "db": tensor_info(holder, "db"),
        "keys": [key[:40] for key in keys],
    }


def _numbers(model: Any) -> dict[str, float]:
    """The model's public attributes that hold one number: where a misnamed lr would be."""
    found: dict[str, float] = {}
    for name, value in list(getattr(model, "__dict__", {}).items())[:50]:
        if name.startswith("_") or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            found[name[:40]] = float(value)
        elif isinstance(value, torch.Tensor) and value.numel() == 1:
            found[name[:40]] = float(value.detach().reshape(-1)[0])
    return found


def _number_info(model: Any, name: str) -> dict[str, Any]:
    """`tensor_info`, plus the value of a plain Python number (a `b = 0` the contract's init
    check rejects, but which training turns into a tensor)."""
    info = tensor_info(model, name)
    value = getattr(model, name, None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        info["number"] = float(value)
    return info


def _state(model: Any) -> dict[str, Any]:
    return {"w": tensor_info(model, "w"), "b": tensor_info(model, "b"), "grads": _grad_info(model)}


class _AutogradWatch:
    """Record calls into autograd while student code runs (backward, grad)."""

    def __init__(self, log: CallLog) -> None:
        self.log = log
        self.saved: list[tuple[Any, str, Any]] = []

    def _wrap(self, owner: Any, name: str) -> None:
        real = getattr(owner, name)
        log = self.log

        def spy(*args: Any, **kwargs: Any) -> Any:
            log.record(name)
            return real(*args, **kwargs)

        self.saved.append((owner, name, real))
        setattr(owner, name, spy)

    def __enter__(self) -> _AutogradWatch:
        self._wrap(torch.Tensor, "backward")
        self._wrap(torch.autograd, "backward")
        self._wrap(torch.autograd, "grad")
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, real in reversed(self.saved):
            setattr(owner, name, real)


@probe
def construct(student: Any, dim: int, lr: float | None = None) -> dict[str, Any]:
    model = _build(student, dim, lr)
    lr_value = getattr(model, "lr", None)
    number = isinstance(lr_value, (int, float)) or (
        isinstance(lr_value, torch.Tensor) and lr_value.numel() == 1
    )
    return {
        **_state(model),
        "lr": float(lr_value) if number else None,
        "lr_kind": "missing" if not hasattr(model, "lr") else kind_of(lr_value),
        "numbers": _numbers(model),
        "is_module": isinstance(model, torch.nn.Module),
    }


@probe
def sigmoid(student: Any, dim: int, z: torch.Tensor) -> dict[str, Any]:
    return {"output": _build(student, dim).sigmoid(z)}


@probe
def forward(
    student: Any, dim: int, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> dict[str, Any]:
    model = _build(student, dim)
    problem = _set_state(model, w, b)
    if problem:
        return {"set_problem": problem}
    before = set(getattr(model, "__dict__", {}))
    output = model.forward(x)
    added = sorted(
        n for n in getattr(model, "__dict__", {}) if isinstance(n, str) and n not in before
    )
    # The attributes forward stores (a cached yhat), for a backward that reads them.
    return {"output": output, "set_by_forward": [n[:40] for n in added][:20]}


@probe
def backward(
    student: Any,
    dim: int,
    x: torch.Tensor,
    yhat: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor,
) -> dict[str, Any]:
    model = _build(student, dim)
    problem = _set_state(model, w, b)
    if problem:
        return {"set_problem": problem}
    model.backward(x, yhat, y)
    return {"grads": _grad_info(model)}


@probe
def backward_from_yhat(
    student: Any,
    dim: int,
    x: torch.Tensor,
    yhat: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor,
) -> dict[str, Any]:
    """backward with one (x, yhat, y) on two models: a fresh LR(dim), and one whose w and b
    are the ones yhat came from. Reports grads, w and b after each."""
    runs = {}
    for run in ("fresh", "set"):
        model = _build(student, dim)
        problem = _set_state(model, w, b) if run == "set" else None
        if problem:
            return {"set_problem": problem}
        before = {"w": tensor_info(model, "w"), "b": tensor_info(model, "b")}
        model.backward(x, yhat.clone(), y)
        runs[run] = {**_state(model), "before": before}
    return runs


@probe
def optimize(
    student: Any,
    dim: int,
    w: torch.Tensor,
    b: torch.Tensor,
    dw: torch.Tensor,
    db: torch.Tensor,
    lr: float,
) -> dict[str, Any]:
    model = _build(student, dim, lr)
    problem = _set_state(model, w, b, {"dw": dw, "db": db})
    if problem:
        return {"set_problem": problem}
    model.optimize()
    return {"w": tensor_info(model, "w"), "b": tensor_info(model, "b")}


@probe
def one_iteration_without_autograd(
    student: Any, dim: int, x: torch.Tensor, y: torch.Tensor
) -> dict[str, Any]:
    """forward, backward, optimize under torch.no_grad(), with autograd entry points watched."""
    log = CallLog()
    model = _build(student, dim)
    flags = {
        "init_w": tensor_info(model, "w").get("requires_grad"),
        "init_b": tensor_info(model, "b").get("requires_grad"),
    }
    error = ""
    with _AutogradWatch(log), torch.no_grad():
        try:
            yhat = model.forward(x)
            model.backward(x, yhat, y)
            model.optimize()
        except RuntimeError as exc:
            error = str(exc)[:300]
    return {"requires_grad": flags, "autograd_calls": log.events, "error": error}


@probe
def fit(
    student: Any, dim: int, x: torch.Tensor, y: torch.Tensor, lr: float, iterations: int, every: int
) -> dict[str, Any]:
    """Train with the student's own methods; return snapshots of (w, b) for the judge."""
    model = _build(student, dim, lr)
    snapshots = []
    for step in range(iterations + 1):
        if step % every == 0:
            snapshots.append({"w": tensor_info(model, "w"), "b": _number_info(model, "b")})
        if step == iterations:
            break
        yhat = model.forward(x)
        model.backward(x, yhat, y)
        model.optimize()
    return {"snapshots": snapshots}
