"""Hidden checks for scratch_lr: logistic regression with hand-written gradients.

Every check names the contract clauses it covers (ids in ../assignment.toml). The inputs are
chosen so that the known mistakes give different numbers: m = 8 samples against dim = 3
features (so 1/m missing, m taken from the wrong axis and a sign error are all distinct), and
a learning rate of 0.3 in optimize (so lr applied twice, 0.09, differs from the default 0.01).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from contextlib import contextmanager

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
OPTIMIZE_LR = 0.3
DEFAULT_LR = 0.01


def _data(m: int = M, dim: int = DIM):
    x = seeded_randn(dim, m)
    y = (seeded_randn(1, m) > 0).float()
    return x, y


# A symptom in the message of an exception from student code -> the message key of its fix.
KNOWN_ERRORS = {
    "same dtype": "dtype_hint",
    "scalar type Double": "dtype_hint",
    "cannot be multiplied": "matmul_hint",
    "only one element tensors": "math_exp_hint",
    "must be real number, not Tensor": "math_exp_hint",
    "raised KeyError": "grads_keys_hint",
    "unexpected keyword argument 'lr'": "lr_argument_hint",
}


@contextmanager
def _known_errors() -> Iterator[None]:
    """Common exceptions from student code, mapped to what to fix in this exercise's words.

    These are more specific than the engine's general advice, so they replace it."""
    try:
        yield
    except Failure as failure:
        key = next((k for symptom, k in KNOWN_ERRORS.items() if symptom in failure.rationale), "")
        if key:
            failure.help = say(key)
        raise


# backward reading an attribute the LR does not have: `'LR' object has no attribute 'yhat'`.
_BACKWARD_READS = re.compile(r"object has no attribute '(\w+)'.*\bin backward\)")


def _observe(probe, name: str, call: str, **inputs):
    with _known_errors():
        try:
            observed = probe(name, call=call, **inputs)
        except Failure as failure:
            help = _cached_by_forward_help(probe, failure.rationale)
            if help:
                failure.help = help
            raise
    if isinstance(observed, dict) and "set_problem" in observed:
        raise _cannot_set(observed["set_problem"], call, inputs.get("dim", DIM))
    return observed


def _cannot_set(problem: dict, call: str, dim: int) -> Failure:
    """The probe could not load the check's w, b or grads into the student's LR: that is the
    check's setup failing, before the student's method ran, and it is said so."""
    return Failure(
        say("cannot_set", dim=dim, name=problem["name"], call=call, error=problem["error"]),
        say("cannot_set_help", name=problem["name"]),
    )


def _cached_by_forward_help(probe, message: str) -> str:
    """backward failed reading `self.<name>`, and forward is what sets it (a cached yhat):
    backward must use the yhat it is given, since it is called without a forward first."""
    found = _BACKWARD_READS.search(message)
    if not found:
        return ""
    try:
        observed = probe(
            "forward",
            call=f"LR({DIM}).forward(x)",
            dim=DIM,
            x=_data()[0],
            w=torch.zeros(DIM, 1),
            b=torch.scalar_tensor(0.0),
        )
    except Failure:
        return ""
    if found.group(1) not in observed.get("set_by_forward", []):
        return ""
    return say("cached_by_forward_hint", name=found.group(1))


def _kind_words(info: dict) -> str:
    """What a probe found where a tensor belongs, in words: a Python number is named as one."""
    if info.get("kind") == "other" and info.get("type") in ("int", "float"):
        return say("python_number_kind", type=info["type"])
    return kind_name(info["kind"])


def _near_miss(wanted: str, present: list[str]) -> str:
    """A close spelling of `wanted` among `present` (case, a typo), or ""."""
    folded = {name.casefold(): name for name in present}
    if wanted.casefold() in folded:
        return folded[wanted.casefold()]
    close = difflib.get_close_matches(wanted, present, n=1, cutoff=0.6)
    return close[0] if close else ""


def _expect_described(
    info: dict, expected: tuple[int, ...], missing: str, wrong_shape: str, hint: str = "", **where
) -> torch.Tensor:
    """The tensor a probe described, or a failure saying it is missing or has the wrong shape;
    `missing` and `wrong_shape` are message keys, filled in with `where`."""
    if "shape" not in info:
        number = info.get("type") in ("int", "float")
        raise Failure(
            say(missing, kind=_kind_words(info), expected=fmt_shape(expected), **where),
            hint if number and expected == () else "",
        )
    if tuple(info["shape"]) != expected:
        raise Failure(
            say(
                wrong_shape, actual=fmt_shape(info["shape"]), expected=fmt_shape(expected), **where
            ),
            hint,
        )
    return info["value"]


def _expect_tensor_attr(info: dict, dim: int, name: str, expected: tuple[int, ...]) -> torch.Tensor:
    hint = say("b_0dim_hint") if name == "b" else say("w_shape_hint")
    return _expect_described(
        info, expected, "missing_attribute", "init_shape", hint, dim=dim, name=name
    )


def _expect_grad(grads: dict, key: str, call: str, expected: tuple[int, ...]) -> torch.Tensor:
    if grads.get("kind") != "dict":
        raise Failure(say("grads_not_dict", dim=DIM, kind=grads.get("kind")))
    info = grads[key]
    if "shape" not in info:
        close = _near_miss(key, [k for k in grads.get("keys", []) if k != key])
        hint = say("grads_key_near_miss", key=key, other=close) if close else ""
        raise Failure(
            say(
                "grad_missing",
                kind=_kind_words(info),
                expected=fmt_shape(expected),
                call=call,
                key=key,
            ),
            hint,
        )
    actual = fmt_shape(info["shape"])
    hint = say("db_shape_hint", actual=actual) if key == "db" else say("dw_shape_hint")
    return _expect_described(info, expected, "grad_missing", "grad_shape", hint, call=call, key=key)


@check(points=0.5, category="api", covers=["lr-class"])
def test_is_a_module(probe):
    """LR is a subclass of torch.nn.Module."""
    call = f"LR({DIM})"
    observed = _observe(probe, "construct", call, dim=DIM)
    if not observed["is_module"]:
        raise Failure(say("not_a_module", dim=DIM), say("not_a_module_help"))


@check(points=0.5, category="shapes", covers=["init-w-zeros", "init-b-zero", "init-grads"])
def test_initial_shapes(probe):
    """LR(dim) starts with w of shape (dim, 1), a 0-dim b, and grads of the same shapes."""
    observed = _observe(probe, "construct", f"LR({DIM})", dim=DIM)
    _expect_tensor_attr(observed["w"], DIM, "w", (DIM, 1))
    _expect_tensor_attr(observed["b"], DIM, "b", ())
    _expect_grad(observed["grads"], "dw", f"LR({DIM})", (DIM, 1))
    _expect_grad(observed["grads"], "db", f"LR({DIM})", ())


@check(points=0.5, category="values", covers=["init-w-zeros", "init-b-zero", "init-grads"])
def test_initial_values(probe):
    """LR(dim) starts from float32 zeros: w, b, grads['dw'] and grads['db']."""
    observed = _observe(probe, "construct", f"LR({DIM})", dim=DIM)
    grads = observed["grads"]
    entries = [("w", observed["w"]), ("b", observed["b"])]
    if grads.get("kind") == "dict":
        entries += [("grads['dw']", grads["dw"]), ("grads['db']", grads["db"])]
    for name, info in entries:
        if "value" not in info:
            continue  # test_initial_shapes says what is missing
        if info["dtype"] != "torch.float32":
            raise Failure(
                say("init_dtype", dim=DIM, name=name, dtype=info["dtype"].removeprefix("torch.")),
                say("init_dtype_help"),
            )
        value = info["value"]
        if bool(value.ne(0).any()):
            raise Failure(
                say("init_not_zero", dim=DIM, name=name, count=int(value.ne(0).sum())),
                say("init_zero_help"),
            )
    for name in ("w", "b"):
        info = observed[name]
        if "value" not in info and info.get("type") in ("int", "float"):
            expected = fmt_shape((DIM, 1) if name == "w" else ())
            hint = say("b_0dim_hint") if name == "b" else ""
            raise Failure(
                say(
                    "missing_attribute",
                    dim=DIM,
                    name=name,
                    kind=_kind_words(info),
                    expected=expected,
                ),
                hint,
            )
    if "value" not in observed["w"] or "value" not in observed["b"]:
        raise Failure(say("init_missing", dim=DIM))


def _expect_lr(observed: dict, call: str, expected: float, help_key: str) -> None:
    actual = observed["lr"]
    if actual is None:
        same = [name for name, value in observed["numbers"].items() if abs(value - expected) < 1e-7]
        hint = say("lr_elsewhere_hint", name=same[0]) if same else say("lr_store_hint")
        raise Failure(say("lr_missing", call=call, kind=kind_name(observed["lr_kind"])), hint)
    if abs(actual - expected) > 1e-7:
        raise Failure(say("lr_wrong", call=call, actual=actual, expected=expected), say(help_key))


@check(points=0.5, category="api", covers=["init-args", "lr-default", "lr-stored"])
def test_learning_rate(probe):
    """LR(dim) has self.lr = 0.01, and LR(dim, lr) stores the lr it is given."""
    call = f"LR({DIM})"
    _expect_lr(_observe(probe, "construct", call, dim=DIM), call, DEFAULT_LR, "lr_default_help")
    lr = 0.3
    call = f"LR({DIM}, lr=torch.scalar_tensor({lr}))"
    _expect_lr(_observe(probe, "construct", call, dim=DIM, lr=lr), call, lr, "lr_given_help")


@check(points=0.5, category="shapes", covers=["forward-shape", "data-layout"])
def test_forward_shape(probe):
    """forward(x) with x of shape (dim, m) returns shape (1, m)."""
    x, _ = _data()
    call = say("call_forward_shape", dim=DIM, shape=fmt_shape(tuple(x.shape)))
    observed = _observe(
        probe, "forward", call, dim=DIM, x=x, w=seeded_randn(DIM, 1), b=torch.scalar_tensor(0.3)
    )
    expect_shape(
        observed["output"],
        (1, M),
        call,
        hints={(M, 1): say("forward_shape_hint"), (M,): say("forward_1d_hint")},
    )


@check(points=1, category="values", covers=["sigmoid-elementwise", "sigmoid-stable"])
def test_sigmoid_is_stable(probe):
    """sigmoid(z) is elementwise and gives no NaN for large |z|."""
    z = torch.tensor([[-1e4, -100.0, -5.0, -0.5, 0.0, 0.5, 5.0, 100.0, 1e4]])
    call = say("call_sigmoid")
    observed = _observe(probe, "sigmoid", call, dim=DIM, z=z)
    output = expect_finite(observed["output"], call, say("sigmoid_nan_hint"))
    hint = known_mistake(output, {say("sigmoid_sign_hint"): torch.sigmoid(-z)})
    expect_close(output, torch.sigmoid(z), call, hint=hint, atol=1e-6, rtol=1e-5)


@check(points=1, category="values", covers=["forward-formula", "forward-bias", "data-layout"])
def test_forward_with_bias(probe):
    """forward(x) returns sigmoid(w.T @ x + b), bias included."""
    x, _ = _data()
    w, b = seeded_randn(DIM, 1), torch.scalar_tensor(0.7)
    call = say("call_forward_bias", dim=DIM, b=0.7)
    observed = _observe(probe, "forward", call, dim=DIM, x=x, w=w, b=b)
    expected = torch.sigmoid(w.T @ x + b)
    hint = known_mistake(
        observed["output"],
        {
            say("missing_b_hint"): torch.sigmoid(w.T @ x),
            say("bias_outside_hint"): torch.sigmoid(w.T @ x) + b,
            say("sigmoid_sign_hint"): torch.sigmoid(-(w.T @ x + b)),
            say("forward_shape_hint"): torch.sigmoid(x.T @ w + b),
        },
    )
    shape_hints = {(M, 1): say("forward_shape_hint"), (M,): say("forward_1d_hint")}
    output = observed["output"]
    if not hint and isinstance(output, torch.Tensor):
        hint = shape_hints.get(tuple(output.shape), "")
    expect_close(output, expected, call, hint=hint)


def _optimize_mistakes(start: torch.Tensor, grad: torch.Tensor, name: str) -> dict:
    """What the known optimize mistakes leave in a parameter, with lr = OPTIMIZE_LR."""
    lr = OPTIMIZE_LR
    return {
        say("optimize_ascent_hint"): start + lr * grad,
        say("optimize_lr_hint"): start - grad,
        say("optimize_lr_twice_hint"): start - lr * lr * grad,
        say("optimize_default_lr_hint"): start - DEFAULT_LR * grad,
        say("optimize_skipped_hint", name=name): start,
    }


@check(points=1, category="values", covers=["optimize-w", "optimize-b", "lr-stored"])
def test_optimize_is_one_gradient_step(probe):
    """optimize() does exactly w -= lr * dw and b -= lr * db."""
    w, b = seeded_randn(DIM, 1), torch.scalar_tensor(0.2)
    dw, db, lr = seeded_randn(DIM, 1), torch.scalar_tensor(-0.4), OPTIMIZE_LR
    call = say("call_optimize", dim=DIM, lr=lr)
    observed = _observe(probe, "optimize", call, dim=DIM, w=w, b=b, dw=dw, db=db, lr=lr)
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
        hint = known_mistake(info["value"], _optimize_mistakes(start, grad, name))
        expect_close(info["value"], expected, say("after_call", name=name, call=call), hint=hint)


def _mean_bce(w, b, x, y):
    """The loss whose gradients backward computes by hand: mean binary cross-entropy."""
    return torch.nn.functional.binary_cross_entropy(torch.sigmoid(w.T @ x + b), y)


def _observe_gradients(probe):
    x, y = _data()
    w, b = seeded_randn(DIM, 1), torch.scalar_tensor(-0.3)
    yhat = torch.sigmoid(w.T @ x + b)
    call = say("call_backward", dim=DIM, m=M)
    observed = _observe(probe, "backward", call, dim=DIM, x=x, yhat=yhat, y=y, w=w, b=b)
    expected = autograd_gradients(_mean_bce, wrt={"w": w, "b": b}, given={"x": x, "y": y})
    # dz with the sigmoid's derivative applied once more, (yhat - y) * yhat * (1 - yhat): the
    # gradient of the squared error's chain rule, not of the BCE, where that factor cancels.
    p = yhat.double()
    dz = (p - y.double()) * p * (1 - p)
    extra = {"w": (x.double() @ dz.T / M).float(), "b": (dz.sum() / M).float()}
    return observed["grads"], expected, call, extra


def _gradient_mistakes(expected: torch.Tensor, key: str) -> dict[str, torch.Tensor]:
    """The gradient each known backward mistake gives: a scale or a sign, named by factor, or
    the starting zero that backward never replaced."""
    return {
        say("sum_not_mean_hint"): expected * M,
        say("sign_hint"): -expected,
        say("m_from_rows_hint", m=M, dim=DIM): expected * M / DIM,
        say("lr_in_backward_hint"): expected * DEFAULT_LR,
        say("grad_not_set_hint", key=key): torch.zeros_like(expected),
    }


def _extra_derivative(grads: dict, extra: dict) -> bool:
    """Both of the student's gradients are the ones an extra sigmoid derivative gives: dw has
    DIM values, so a match is no coincidence of one number (db alone could be one)."""
    if grads.get("kind") != "dict" or "value" not in grads["dw"] or "value" not in grads["db"]:
        return False
    dw, db = grads["dw"]["value"], grads["db"]["value"]
    return bool(known_mistake(dw, {"x": extra["w"]})) and bool(
        known_mistake(db.reshape(()) if db.numel() == 1 else db, {"x": extra["b"]})
    )


@check(points=1, category="gradients", covers=["backward-dw", "backward-dw-shape", "data-layout"])
def test_dw_matches_autograd(probe):
    """backward sets grads['dw'] to the gradient of the mean BCE with respect to w."""
    grads, expected, call, extra = _observe_gradients(probe)
    actual = _expect_grad(grads, "dw", call, (DIM, 1))
    where = say("grad_after", key="dw", call=call)
    mistakes = _gradient_mistakes(expected["w"], "dw")
    mistakes[say("extra_derivative_hint")] = extra["w"]
    expect_gradient(actual, expected["w"], where, mistakes=mistakes)


@check(points=1, category="gradients", covers=["backward-db", "backward-db-0dim"])
def test_db_matches_autograd(probe):
    """backward sets grads['db'] to the gradient of the mean BCE with respect to b (0-dim)."""
    grads, expected, call, extra = _observe_gradients(probe)
    actual = _expect_grad(grads, "db", call, ())
    where = say("grad_after", key="db", call=call)
    mistakes = _gradient_mistakes(expected["b"], "db")
    if _extra_derivative(grads, extra):
        mistakes = {say("extra_derivative_hint"): extra["b"]}
    expect_gradient(actual, expected["b"], where, mistakes=mistakes)


def _unchanged(info: dict, start: torch.Tensor) -> bool:
    value = info.get("value")
    return (
        isinstance(value, torch.Tensor)
        and value.shape == start.shape
        and bool(torch.equal(value.to(start.dtype), start))
    )


@check(points=0.5, category="gradients", covers=["backward-uses-yhat", "backward-sets-grads-only"])
def test_backward_uses_given_yhat(probe):
    """backward only sets grads, from the yhat it is given: w and b stay, nothing recomputed."""
    x, y = _data()
    w, b = seeded_randn(DIM, 1), torch.scalar_tensor(0.4)
    yhat = torch.sigmoid(w.T @ x + b)
    call = say("call_backward_given", dim=DIM, m=M)
    observed = _observe(probe, "backward_from_yhat", call, dim=DIM, x=x, yhat=yhat, y=y, w=w, b=b)
    changed = {
        (run, name)
        for run in ("fresh", "set")
        for name in ("w", "b")
        if isinstance(start := observed[run]["before"][name].get("value"), torch.Tensor)
        and not _unchanged(observed[run][name], start)
    }
    for name in ("w", "b"):
        if ("fresh", name) in changed or ("set", name) in changed:
            # Only the fresh model changed: its grads share a tensor with w or b (the other
            # model's w and b were replaced before backward, which breaks the sharing).
            alias = ("set", name) not in changed
            help_key = "grads_alias_hint" if alias else "backward_only"
            raise Failure(say("backward_changed", name=name, call=call), say(help_key))
    for key, shape in (("dw", (DIM, 1)), ("db", ())):
        fresh = _expect_grad(observed["fresh"]["grads"], key, call, shape)
        other = _expect_grad(observed["set"]["grads"], key, call, shape)
        if not torch.allclose(fresh.double(), other.double(), rtol=1e-4, atol=1e-6):
            raise Failure(say("backward_recomputed", key=key, call=call), say("use_given_yhat"))


@check(points=1, category="api", covers=["no-grad-params", "no-autograd-calls"])
def test_no_autograd(probe):
    """No autograd: w and b do not require grad, and an iteration runs with autograd off."""
    x, y = _data()
    call = say("call_iteration", dim=DIM)
    observed = _observe(probe, "one_iteration_without_autograd", call, dim=DIM, x=x, y=y)
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
    error = observed["error"]
    if error:
        known = next((key for symptom, key in KNOWN_ERRORS.items() if symptom in error), "")
        help_key = known or ("no_autograd_help" if "grad" in error else "")
        raise Failure(
            say("autograd_failed", call=call, error=error), say(help_key) if help_key else ""
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
    if "value" not in snapshot["b"] and "number" in snapshot["b"]:
        # b = 0, a Python number: the init check says so; training turns it into a tensor.
        number = torch.tensor(snapshot["b"]["number"])
        snapshot = {**snapshot, "b": {**snapshot["b"], "value": number, "shape": []}}
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


@check(
    points=1,
    category="convergence",
    covers=["forward-formula", "backward-dw", "backward-db", "optimize-w", "optimize-b"],
)
def test_training_converges(probe):
    """Gradient descent on linearly separable data reaches at least 95% accuracy."""
    dim, m, iterations, every, limit, lr = 2, 200, 300, 50, 0.95, 0.5
    x = seeded_randn(dim, m)
    direction = torch.tensor([[1.5], [-1.0]])
    y = ((direction.T @ x + 0.2) > 0).float()
    call = say("call_fit", dim=dim, lr=lr, iterations=iterations)
    observed = _observe(
        probe, "fit", call, dim=dim, x=x, y=y, lr=lr, iterations=iterations, every=every
    )
    losses, accuracy = [], 0.0
    for snapshot in observed["snapshots"]:
        w, b = _trained(snapshot, dim)
        yhat = torch.sigmoid(w.T @ x + b)
        losses.append(
            float(torch.nn.functional.binary_cross_entropy(yhat.clamp(1e-7, 1 - 1e-7), y))
        )
        # Counted exactly: 190 of 200 is 95%, where a float32 mean gives 0.949999988.
        accuracy = int(((yhat >= 0.5).float() == y).sum()) / y.numel()
    try:
        expect_converges(losses, call)
        if not accuracy >= limit:
            raise Failure(
                say("not_converged", iterations=iterations, accuracy=accuracy, limit=limit)
            )
    except Failure as failure:
        failure.help = failure.help or _training_mistake(x, y, lr, iterations, w, b)
        raise
