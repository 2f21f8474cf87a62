"""Hidden checks for scratch_lr: logistic regression with hand-written gradients."""

from __future__ import annotations

import torch

from grader.checks import (
    Failure,
    check,
    expect_close,
    expect_finite,
    expect_shape,
    fmt_shape,
    seeded_randn,
)
from grader.messages import say

DIM, M = 3, 8


def _matches(actual, expected) -> bool:
    return (
        isinstance(actual, torch.Tensor)
        and actual.shape == expected.shape
        and torch.allclose(actual.double(), expected.double(), rtol=1e-4, atol=1e-6)
    )


def _hint_for(actual, expected, candidates: dict[str, torch.Tensor]) -> str:
    """The hint of the first known mistake whose result equals what came back."""
    del expected
    for key, value in candidates.items():
        if _matches(actual, value):
            return say(key)
    return ""


def _data(m: int = M, dim: int = DIM):
    x = seeded_randn(dim, m)
    y = (seeded_randn(1, m) > 0).float()
    return x, y


def _expect_tensor_attr(info: dict, dim: int, name: str, expected: tuple[int, ...]) -> None:
    if "shape" not in info:
        raise Failure(
            say(
                "missing_attribute",
                dim=dim,
                name=name,
                kind=info["kind"],
                expected=fmt_shape(expected),
            )
        )
    if tuple(info["shape"]) != expected:
        raise Failure(
            say(
                "init_shape",
                dim=dim,
                name=name,
                actual=fmt_shape(info["shape"]),
                expected=fmt_shape(expected),
            )
        )


def _expect_grad(grads: dict, key: str, call: str, expected: tuple[int, ...]) -> torch.Tensor:
    if grads.get("kind") != "dict":
        raise Failure(say("grads_not_dict", dim=DIM, kind=grads.get("kind")))
    info = grads[key]
    if "value" not in info:
        raise Failure(
            say("grad_missing", call=call, key=key, kind=info["kind"], expected=fmt_shape(expected))
        )
    if tuple(info["shape"]) != expected:
        hint = say("db_shape_hint") if key == "db" else ""
        raise Failure(
            say(
                "grad_shape",
                call=call,
                key=key,
                actual=fmt_shape(info["shape"]),
                expected=fmt_shape(expected),
            ),
            hint,
        )
    return info["value"]


@check(points=1, category="shapes")
def test_initial_shapes(probe):
    """LR(dim) starts with w of shape (dim, 1), a 0-dim b, and grads of the same shapes."""
    observed = probe("construct", call=f"LR({DIM})", dim=DIM)
    _expect_tensor_attr(observed["w"], DIM, "w", (DIM, 1))
    _expect_tensor_attr(observed["b"], DIM, "b", ())
    _expect_grad(observed["grads"], "dw", f"LR({DIM})", (DIM, 1))
    _expect_grad(observed["grads"], "db", f"LR({DIM})", ())


@check(points=1, category="shapes")
def test_forward_shape(probe):
    """forward(x) with x of shape (dim, m) returns shape (1, m)."""
    x, _ = _data()
    call = f"LR({DIM}).forward(x) with x of shape {fmt_shape(tuple(x.shape))}"
    observed = probe(
        "forward", call=call, dim=DIM, x=x, w=seeded_randn(DIM, 1), b=torch.scalar_tensor(0.3)
    )
    expect_shape(observed["output"], (1, M), call, hints={(M, 1): say("forward_shape_hint")})


@check(points=1, category="values")
def test_sigmoid_is_stable(probe):
    """sigmoid(z) is elementwise and gives no NaN for large |z|."""
    z = torch.tensor([[-1e4, -100.0, -5.0, -0.5, 0.0, 0.5, 5.0, 100.0, 1e4]])
    call = "LR.sigmoid(z) with z from -1e4 to 1e4"
    observed = probe("sigmoid", call=call, dim=DIM, z=z)
    output = expect_finite(observed["output"], call, say("sigmoid_nan_hint"))
    expect_close(output, torch.sigmoid(z), call, atol=1e-6, rtol=1e-5)


@check(points=1, category="values")
def test_forward_with_bias(probe):
    """forward(x) returns sigmoid(w.T @ x + b), bias included."""
    x, _ = _data()
    w, b = seeded_randn(DIM, 1), torch.scalar_tensor(0.7)
    call = f"LR({DIM}).forward(x) with b = 0.7"
    observed = probe("forward", call=call, dim=DIM, x=x, w=w, b=b)
    expected = torch.sigmoid(w.T @ x + b)
    hint = _hint_for(
        observed["output"],
        expected,
        {
            "missing_b_hint": torch.sigmoid(w.T @ x),
            "forward_shape_hint": torch.sigmoid(x.T @ w + b),
        },
    )
    expect_close(observed["output"], expected, call, hint=hint)


@check(points=1, category="values")
def test_optimize_is_one_gradient_step(probe):
    """optimize() does exactly w -= lr * dw and b -= lr * db."""
    w, b = seeded_randn(DIM, 1), torch.scalar_tensor(0.2)
    dw, db, lr = seeded_randn(DIM, 1), torch.scalar_tensor(-0.4), 0.1
    call = f"LR({DIM}, lr=0.1).optimize()"
    observed = probe("optimize", call=call, dim=DIM, w=w, b=b, dw=dw, db=db, lr=lr)
    for name, start, grad in (("w", w, dw), ("b", b, db)):
        info = observed[name]
        if "value" not in info:
            raise Failure(
                say(
                    "missing_attribute",
                    dim=DIM,
                    name=name,
                    kind=info["kind"],
                    expected=fmt_shape(tuple(start.shape)),
                )
            )
        expected = start - lr * grad
        hint = _hint_for(
            info["value"],
            expected,
            {"optimize_ascent_hint": start + lr * grad, "optimize_lr_hint": start - grad},
        )
        expect_close(info["value"], expected, f"{name} after {call}", hint=hint)


def _bce_gradients(x, y, w, b):
    """dL/dw and dL/db of the mean binary cross-entropy, by torch autograd, in the judge."""
    w = w.clone().double().requires_grad_()
    b = b.clone().double().requires_grad_()
    yhat = torch.sigmoid(w.T @ x.double() + b)
    torch.nn.functional.binary_cross_entropy(yhat, y.double()).backward()
    return w.grad.float(), b.grad.float(), yhat.detach().float()


def _observe_gradients(probe):
    x, y = _data()
    w, b = seeded_randn(DIM, 1), torch.scalar_tensor(-0.3)
    dw, db, yhat = _bce_gradients(x, y, w, b)
    call = f"LR({DIM}).backward(x, yhat, y) with m = {M}"
    observed = probe("backward", call=call, dim=DIM, x=x, yhat=yhat, y=y, w=w, b=b)
    return observed["grads"], dw, db, call


@check(points=1.5, category="gradients")
def test_dw_matches_autograd(probe):
    """backward sets grads['dw'] to the gradient of the mean BCE with respect to w."""
    grads, dw, _, call = _observe_gradients(probe)
    actual = _expect_grad(grads, "dw", call, (DIM, 1))
    hint = _hint_for(actual, dw, {"sum_not_mean_hint": dw * M, "sign_hint": -dw})
    expect_close(actual, dw, f"grads['dw'] after {call}", hint=hint, atol=1e-5, rtol=1e-4)


@check(points=1, category="gradients")
def test_db_matches_autograd(probe):
    """backward sets grads['db'] to the gradient of the mean BCE with respect to b (0-dim)."""
    grads, _, db, call = _observe_gradients(probe)
    actual = _expect_grad(grads, "db", call, ())
    hint = _hint_for(actual, db, {"sum_not_mean_hint": db * M, "sign_hint": -db})
    expect_close(actual, db, f"grads['db'] after {call}", hint=hint, atol=1e-5, rtol=1e-4)


@check(points=1, category="api")
def test_no_autograd(probe):
    """No autograd: w and b do not require grad, and an iteration runs with autograd off."""
    x, y = _data()
    call = f"LR({DIM}): forward, backward, optimize"
    observed = probe("one_iteration_without_autograd", call=call, dim=DIM, x=x, y=y)
    for name in ("w", "b"):
        if observed["requires_grad"][f"init_{name}"]:
            raise Failure(say("requires_grad", dim=DIM, name=name), say("no_autograd_help"))
    if observed["autograd_calls"]:
        raise Failure(
            say(
                "autograd_used", call=call, calls=", ".join(sorted(set(observed["autograd_calls"])))
            ),
            say("no_autograd_help"),
        )
    if observed["error"]:
        raise Failure(
            say("autograd_failed", call=call, error=observed["error"]), say("no_autograd_help")
        )


@check(points=1.5, category="convergence")
def test_training_converges(probe):
    """Gradient descent on linearly separable data reaches at least 95% accuracy."""
    dim, m, iterations, every, limit = 2, 200, 300, 50, 0.95
    x = seeded_randn(dim, m)
    direction = torch.tensor([[1.5], [-1.0]])
    y = ((direction.T @ x + 0.2) > 0).float()
    call = f"training LR({dim}, lr=0.5) for {iterations} steps"
    observed = probe(
        "fit", call=call, dim=dim, x=x, y=y, lr=0.5, iterations=iterations, every=every
    )
    losses, accuracy = [], 0.0
    for snapshot in observed["snapshots"]:
        w, b = snapshot["w"].get("value"), snapshot["b"].get("value")
        if w is None or b is None or tuple(w.shape) != (dim, 1) or b.numel() != 1:
            raise Failure(
                say(
                    "missing_attribute",
                    dim=dim,
                    name="w",
                    kind="malformed",
                    expected=fmt_shape((dim, 1)),
                )
            )
        yhat = torch.sigmoid(w.detach().float().T @ x + b.detach().float().reshape(()))
        losses.append(
            float(torch.nn.functional.binary_cross_entropy(yhat.clamp(1e-7, 1 - 1e-7), y))
        )
        accuracy = float(((yhat >= 0.5).float() == y).float().mean())
    if not losses[-1] < losses[0]:
        raise Failure(
            say("loss_not_falling", first=losses[0], last=losses[-1]), say("converge_help")
        )
    if not accuracy >= limit:
        raise Failure(
            say("not_converged", iterations=iterations, accuracy=accuracy, limit=limit),
            say("converge_help"),
        )
