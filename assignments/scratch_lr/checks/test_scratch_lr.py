"""Hidden checks for scratch_lr: logistic regression with hand-written gradients."""

from __future__ import annotations

import torch

from grader.checks import (
    Failure,
    autograd_gradients,
    check,
    expect_close,
    expect_converges,
    expect_finite,
    expect_gradient,
    expect_shape,
    fmt_shape,
    kind_name,
    known_mistake,
    seeded_randn,
)
from grader.messages import say

DIM, M = 3, 8


def _data(m: int = M, dim: int = DIM):
    x = seeded_randn(dim, m)
    y = (seeded_randn(1, m) > 0).float()
    return x, y


def _expect_described(
    info: dict, expected: tuple[int, ...], missing: str, wrong_shape: str, hint: str = "", **where
) -> torch.Tensor:
    """The tensor a probe described, or a failure saying it is missing or has the wrong shape;
    `missing` and `wrong_shape` are message keys, filled in with `where`."""
    if "shape" not in info:
        raise Failure(
            say(missing, kind=kind_name(info["kind"]), expected=fmt_shape(expected), **where)
        )
    if tuple(info["shape"]) != expected:
        raise Failure(
            say(
                wrong_shape, actual=fmt_shape(info["shape"]), expected=fmt_shape(expected), **where
            ),
            hint,
        )
    return info["value"]


def _expect_tensor_attr(info: dict, dim: int, name: str, expected: tuple[int, ...]) -> None:
    _expect_described(info, expected, "missing_attribute", "init_shape", dim=dim, name=name)


def _expect_grad(grads: dict, key: str, call: str, expected: tuple[int, ...]) -> torch.Tensor:
    if grads.get("kind") != "dict":
        raise Failure(say("grads_not_dict", dim=DIM, kind=grads.get("kind")))
    hint = say("db_shape_hint") if key == "db" else ""
    return _expect_described(
        grads[key], expected, "grad_missing", "grad_shape", hint, call=call, key=key
    )


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
    call = say("call_forward_shape", dim=DIM, shape=fmt_shape(tuple(x.shape)))
    observed = probe(
        "forward", call=call, dim=DIM, x=x, w=seeded_randn(DIM, 1), b=torch.scalar_tensor(0.3)
    )
    expect_shape(observed["output"], (1, M), call, hints={(M, 1): say("forward_shape_hint")})


@check(points=1, category="values")
def test_sigmoid_is_stable(probe):
    """sigmoid(z) is elementwise and gives no NaN for large |z|."""
    z = torch.tensor([[-1e4, -100.0, -5.0, -0.5, 0.0, 0.5, 5.0, 100.0, 1e4]])
    call = say("call_sigmoid")
    observed = probe("sigmoid", call=call, dim=DIM, z=z)
    output = expect_finite(observed["output"], call, say("sigmoid_nan_hint"))
    expect_close(output, torch.sigmoid(z), call, atol=1e-6, rtol=1e-5)


@check(points=1, category="values")
def test_forward_with_bias(probe):
    """forward(x) returns sigmoid(w.T @ x + b), bias included."""
    x, _ = _data()
    w, b = seeded_randn(DIM, 1), torch.scalar_tensor(0.7)
    call = say("call_forward_bias", dim=DIM, b=0.7)
    observed = probe("forward", call=call, dim=DIM, x=x, w=w, b=b)
    expected = torch.sigmoid(w.T @ x + b)
    hint = known_mistake(
        observed["output"],
        {
            say("missing_b_hint"): torch.sigmoid(w.T @ x),
            say("forward_shape_hint"): torch.sigmoid(x.T @ w + b),
        },
    )
    expect_close(observed["output"], expected, call, hint=hint)


@check(points=1, category="values")
def test_optimize_is_one_gradient_step(probe):
    """optimize() does exactly w -= lr * dw and b -= lr * db."""
    w, b = seeded_randn(DIM, 1), torch.scalar_tensor(0.2)
    dw, db, lr = seeded_randn(DIM, 1), torch.scalar_tensor(-0.4), 0.1
    call = say("call_optimize", dim=DIM, lr=lr)
    observed = probe("optimize", call=call, dim=DIM, w=w, b=b, dw=dw, db=db, lr=lr)
    for name, start, grad in (("w", w, dw), ("b", b, db)):
        info = observed[name]
        if "value" not in info:
            raise Failure(
                say(
                    "missing_attribute",
                    dim=DIM,
                    name=name,
                    kind=kind_name(info["kind"]),
                    expected=fmt_shape(tuple(start.shape)),
                )
            )
        expected = start - lr * grad
        hint = known_mistake(
            info["value"],
            {say("optimize_ascent_hint"): start + lr * grad, say("optimize_lr_hint"): start - grad},
        )
        expect_close(info["value"], expected, say("after_call", name=name, call=call), hint=hint)


def _mean_bce(w, b, x, y):
    """The loss whose gradients backward computes by hand: mean binary cross-entropy."""
    return torch.nn.functional.binary_cross_entropy(torch.sigmoid(w.T @ x + b), y)


def _observe_gradients(probe):
    x, y = _data()
    w, b = seeded_randn(DIM, 1), torch.scalar_tensor(-0.3)
    yhat = torch.sigmoid(w.T @ x + b)
    call = say("call_backward", dim=DIM, m=M)
    observed = probe("backward", call=call, dim=DIM, x=x, yhat=yhat, y=y, w=w, b=b)
    expected = autograd_gradients(_mean_bce, wrt={"w": w, "b": b}, given={"x": x, "y": y})
    return observed["grads"], expected, call


def _gradient_mistakes(expected: torch.Tensor) -> dict[str, torch.Tensor]:
    return {say("sum_not_mean_hint"): expected * M, say("sign_hint"): -expected}


@check(points=1.5, category="gradients")
def test_dw_matches_autograd(probe):
    """backward sets grads['dw'] to the gradient of the mean BCE with respect to w."""
    grads, expected, call = _observe_gradients(probe)
    actual = _expect_grad(grads, "dw", call, (DIM, 1))
    where = say("grad_after", key="dw", call=call)
    expect_gradient(actual, expected["w"], where, mistakes=_gradient_mistakes(expected["w"]))


@check(points=1, category="gradients")
def test_db_matches_autograd(probe):
    """backward sets grads['db'] to the gradient of the mean BCE with respect to b (0-dim)."""
    grads, expected, call = _observe_gradients(probe)
    actual = _expect_grad(grads, "db", call, ())
    where = say("grad_after", key="db", call=call)
    expect_gradient(actual, expected["b"], where, mistakes=_gradient_mistakes(expected["b"]))


@check(points=1, category="api")
def test_no_autograd(probe):
    """No autograd: w and b do not require grad, and an iteration runs with autograd off."""
    x, y = _data()
    call = say("call_iteration", dim=DIM)
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


TRAINING_MISTAKES = {
    "ascent": "converge_help",
    "no_bias": "missing_b_hint",
    "sum": "sum_not_mean_hint",
    "no_lr": "optimize_lr_hint",
}


def _replay(x, y, lr: float, iterations: int, mistake: str = ""):
    """Gradient descent from LR's zero start, in the judge: the lecture's, or with `mistake`."""
    x, y = x.double(), y.double()
    dim, m = x.shape
    w, b = torch.zeros(dim, 1, dtype=torch.float64), torch.zeros((), dtype=torch.float64)
    for _ in range(iterations):
        dz = torch.sigmoid(w.T @ x + (0.0 if mistake == "no_bias" else b)) - y
        dw, db = x @ dz.T / m, dz.sum() / m
        scale = {"ascent": -lr, "sum": lr * m, "no_lr": 1.0}.get(mistake, lr)
        w, b = w - scale * dw, b - scale * db
    return w, b


def _training_mistake(x, y, lr: float, iterations: int, w, b) -> str:
    """The hint of the known mistake whose training run ends where the student's did."""
    for mistake, key in TRAINING_MISTAKES.items():
        expected_w, expected_b = _replay(x, y, lr, iterations, mistake)
        if torch.allclose(w.double(), expected_w, rtol=1e-3, atol=1e-4) and torch.allclose(
            b.double().reshape(()), expected_b, rtol=1e-3, atol=1e-4
        ):
            return say(key)
    return say("converge_general_help")


def _trained(snapshot: dict, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """w and b from one training snapshot: w of shape (dim, 1) and a one-element b."""
    for name, expected in (("w", (dim, 1)), ("b", ())):
        info = snapshot[name]
        if "value" not in info:
            raise Failure(
                say(
                    "missing_attribute",
                    dim=dim,
                    name=name,
                    kind=kind_name(info["kind"]),
                    expected=fmt_shape(expected),
                )
            )
        wrong = tuple(info["shape"]) != expected if name == "w" else info["value"].numel() != 1
        if wrong:
            raise Failure(
                say(
                    "trained_shape",
                    dim=dim,
                    name=name,
                    actual=fmt_shape(info["shape"]),
                    expected=fmt_shape(expected),
                ),
                say("trained_shape_help"),
            )
    w, b = snapshot["w"]["value"], snapshot["b"]["value"]
    return w.detach().float(), b.detach().float().reshape(())


@check(points=1.5, category="convergence")
def test_training_converges(probe):
    """Gradient descent on linearly separable data reaches at least 95% accuracy."""
    dim, m, iterations, every, limit, lr = 2, 200, 300, 50, 0.95, 0.5
    x = seeded_randn(dim, m)
    direction = torch.tensor([[1.5], [-1.0]])
    y = ((direction.T @ x + 0.2) > 0).float()
    call = say("call_fit", dim=dim, lr=lr, iterations=iterations)
    observed = probe("fit", call=call, dim=dim, x=x, y=y, lr=lr, iterations=iterations, every=every)
    losses, accuracy = [], 0.0
    for snapshot in observed["snapshots"]:
        w, b = _trained(snapshot, dim)
        yhat = torch.sigmoid(w.T @ x + b)
        losses.append(
            float(torch.nn.functional.binary_cross_entropy(yhat.clamp(1e-7, 1 - 1e-7), y))
        )
        accuracy = float(((yhat >= 0.5).float() == y).float().mean())
    try:
        expect_converges(losses, call)
        if not accuracy >= limit:
            raise Failure(
                say("not_converged", iterations=iterations, accuracy=accuracy, limit=limit)
            )
    except Failure as failure:
        failure.help = failure.help or _training_mistake(x, y, lr, iterations, w, b)
        raise
