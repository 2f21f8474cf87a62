"""Hidden checks for my_sgd: MySGD(params, lr, momentum=0.0) with zero_grad() and step().

Every expected value comes from torch.optim.SGD, run here in the judge on the same start and
the same gradients. Known mistakes are replayed here too (`_Replay`), to name the one a
student made when the parameters end up where that mistake would put them.

The learning rates and momenta are chosen so that no two known mistakes land on the same
numbers: dampening with a zero start scales the whole update by (1 - momentum), and applying
lr twice scales it by lr, so no check uses lr == 1 - momentum (0.1 with 0.9 would make the
two indistinguishable). tests/test_my_sgd_hints.py proves the matrix on every check's inputs.
"""

from __future__ import annotations

from typing import Any

import torch

from grader.checks import (
    Failure,
    check,
    describe_difference,
    expect_converges,
    fmt_shape,
    seeded_randn,
)
from grader.evidence import record_curve
from grader.messages import say

SHAPES = [(3, 2), (2,), (4,)]
RTOL, ATOL = 1e-5, 1e-6
DEFAULT_MOMENTUM_GUESS = 0.9
# Known mistake -> the message key of its hint. The first match wins, so the order is from
# the coarsest symptom (nothing moved) to the finest.
MISTAKES = {
    "frozen": "frozen_hint",
    "first_only": "generator_hint",
    "default_momentum": "momentum_default_hint",
    "plain": "plain_hint",
    "dampened": "dampened_hint",
    "dampened_after_first": "dampened_hint",
    "late_buffer": "late_buffer_hint",
    "nesterov": "nesterov_hint",
    "first_twice": "first_twice_hint",
    "lr_twice": "lr_twice_hint",
    "ascent": "ascent_hint",
    "no_lr": "no_lr_hint",
    "none_as_zero": "none_as_zero_hint",
    "none_resets_buffer": "none_resets_buffer_hint",
    "none_decays_buffer": "none_decays_buffer_hint",
    "weight_decay": "weight_decay_hint",
    "no_zero_grad": "accumulate_hint",
}


class _Replay:
    """SGD with momentum by torch.optim.SGD's rule, or with one known `mistake`, in the judge.

    `momentum` None means the call gave none (the default 0.0); `weight_decay` is the decay the
    "weight_decay" mistake adds to every gradient.
    """

    def __init__(
        self,
        params: list[torch.Tensor],
        lr: float,
        momentum: float | None,
        mistake: str = "",
        weight_decay: float = 0.0,
    ):
        self.params, self.lr, self.mistake = params, lr, mistake
        self.momentum = momentum or 0.0
        if mistake == "default_momentum" and momentum is None:
            self.momentum = DEFAULT_MOMENTUM_GUESS
        self.weight_decay = weight_decay
        self.buffers: list[torch.Tensor | None] = [None] * len(params)
        self.steps = 0

    def zero_grad(self) -> None:
        if self.mistake != "no_zero_grad":
            for p in self.params:
                p.grad = None

    def _direction(self, i: int, grad: torch.Tensor) -> torch.Tensor:
        m, buf, mistake = self.momentum, self.buffers[i], self.mistake
        if mistake == "plain" or m == 0:
            return grad
        if mistake == "dampened":
            new = (1 - m) * grad if buf is None else m * buf + (1 - m) * grad
        elif mistake == "dampened_after_first":
            new = grad.clone() if buf is None else m * buf + (1 - m) * grad
        elif mistake == "late_buffer":
            old = torch.zeros_like(grad) if buf is None else buf
            self.buffers[i] = m * old + grad
            return old
        elif mistake == "first_twice":
            new = (1 + m) * grad if buf is None else m * buf + grad
        else:
            new = grad.clone() if buf is None else m * buf + grad
        self.buffers[i] = new
        return grad + m * new if mistake == "nesterov" else new

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        if self.mistake == "frozen" or (self.mistake == "first_only" and self.steps > 1):
            return
        lr = self.lr
        scale = {"ascent": -lr, "no_lr": 1.0, "lr_twice": lr * lr}.get(self.mistake, lr)
        for i, p in enumerate(self.params):
            grad = p.grad
            if grad is None and self.mistake == "none_resets_buffer":
                self.buffers[i] = None
            if grad is None and self.mistake == "none_decays_buffer":
                buf = self.buffers[i]
                self.buffers[i] = None if buf is None else self.momentum * buf
            if grad is None:
                if self.mistake != "none_as_zero":
                    continue
                grad = torch.zeros_like(p)
            if self.mistake == "weight_decay":
                grad = grad + self.weight_decay * p
            p -= scale * self._direction(i, grad)


def _optimizer(
    params: list[torch.Tensor],
    lr: float,
    momentum: float | None,
    mistake: str = "",
    weight_decay: float = 0.0,
):
    if not mistake:
        return torch.optim.SGD(params, lr=lr, momentum=momentum or 0.0)
    return _Replay(params, lr, momentum, mistake, weight_decay)


def sgd_trajectory(params, grads, lr: float, momentum: float | None, mistake="", decay=0.0):
    """The parameters after each step, with the check's gradients set before each step."""
    leaves = [p.clone().requires_grad_() for p in params]
    optimizer = _optimizer(leaves, lr, momentum, mistake, decay)
    trajectory = []
    for step_grads in grads:
        for leaf, grad in zip(leaves, step_grads, strict=True):
            leaf.grad = None if grad is None else grad.clone()
        optimizer.step()
        trajectory.append([leaf.detach().clone() for leaf in leaves])
    return trajectory


def training_losses(state, inputs, targets, lr: float, momentum: float, epochs: int, mistake=""):
    """The standard loop on nn.Linear with torch.optim.SGD (or a replayed mistake): losses."""
    out_features, in_features = state["weight"].shape
    model = torch.nn.Linear(in_features, out_features)
    model.load_state_dict(state)
    optimizer = _optimizer(list(model.parameters()), lr, momentum, mistake)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _same_trajectory(actual, expected) -> bool:
    return len(actual) == len(expected) and all(
        isinstance(a, torch.Tensor)
        and a.shape == e.shape
        and torch.allclose(a.double(), e.double(), rtol=1e-4, atol=1e-5)
        for got, want in zip(actual, expected, strict=True)
        for a, e in zip(got, want, strict=True)
    )


def _same_losses(actual: list[Any], expected: list[float]) -> bool:
    return len(actual) == len(expected) and all(
        a is not None and abs(a - e) <= 1e-5 + 1e-4 * abs(e)
        for a, e in zip(actual, expected, strict=True)
    )


def estimated_weight_decay(actual, params, grads, lr: float, momentum) -> float:
    """The weight decay that would explain the first step of parameter 0, or 0.0.

    With decay d, the first step moves p0 by lr * (g + d * p0) instead of lr * g, whatever the
    momentum, so d = (expected - actual) / (lr * p0), the same for every element.
    """
    if not actual or not isinstance(actual[0][0], torch.Tensor) or grads[0][0] is None:
        return 0.0
    expected = sgd_trajectory(params, grads[:1], lr, momentum)[0][0]
    p0, got = params[0].double(), actual[0][0].double()
    if got.shape != p0.shape:
        return 0.0
    usable = p0.abs() > 0.1
    if not bool(usable.any()):
        return 0.0
    ratios = ((expected.double() - got) / (lr * p0))[usable]
    decay = float(ratios.median())
    return decay if 0 < decay < 1 and bool(torch.isfinite(ratios).all()) else 0.0


def trajectory_mistake(actual, params, grads, lr: float, momentum: float | None) -> str:
    """The known mistake (a key of MISTAKES) whose replay gives `actual`, or ""."""
    decay = estimated_weight_decay(actual, params, grads, lr, momentum)
    for mistake in MISTAKES:
        if mistake == "weight_decay" and not decay:
            continue
        if _same_trajectory(actual, sgd_trajectory(params, grads, lr, momentum, mistake, decay)):
            return mistake
    return ""


STATIC_HINTS = {
    "leaf Variable that requires grad": "no_grad_hint",
    "has no len()": "generator_len_hint",
    "doesn't match the broadcast shape": "shared_buffer_hint",
    "must match the size of tensor": "shared_buffer_hint",
    "unexpected keyword argument 'momentum'": "momentum_keyword_hint",
    "__init__() takes 3 positional arguments but 4 were given": "momentum_positional_hint",
    "does not require grad and does not have a grad_fn": "requires_grad_off_hint",
}


def _none_hint(probe, failure: Failure) -> str:
    """Which None the student's code tripped on, told apart by small scenarios."""
    found = probe("diagnose", call=say("call_diagnose"), params=_params(), grads=_grads(1)[0])
    if "NoneType" in found["zero_grad_on_none"]:
        return say("zero_grad_none_hint")
    if "NoneType" in found["first_momentum_step"]:
        return say("buffer_none_hint")
    if "NoneType" in found["step_with_a_missing_grad"]:
        return say("none_grad_hint")
    return ""


def _observe(probe, name: str, call: str, **inputs):
    """A probe call whose failures get the fix for a known cause, where one is recognised."""
    try:
        return probe(name, call=call, **inputs)
    except Failure as failure:
        # This exercise's words replace the engine's general advice where they apply.
        key = next((k for text, k in STATIC_HINTS.items() if text in failure.rationale), "")
        if key:
            failure.help = say(key)
        elif "NoneType" in failure.rationale:
            failure.help = _none_hint(probe, failure) or failure.help
        raise


def _optimizer_call(lr: float, momentum: float | None, positional: bool = False) -> str:
    if momentum is None:
        return f"MySGD(params, {lr})"
    if positional:
        return f"MySGD(params, {lr}, {momentum})"
    return f"MySGD(params, {lr}, momentum={momentum})"


def _params(shapes=SHAPES) -> list[torch.Tensor]:
    return [seeded_randn(*shape) for shape in shapes]


def _grads(count: int, shapes=SHAPES, missing: set[tuple[int, int]] = frozenset()):
    """Gradients for `count` steps; (step, index) in `missing` gets None."""
    return [
        [None if (step, i) in missing else seeded_randn(*shape) for i, shape in enumerate(shapes)]
        for step in range(count)
    ]


def _gap(grads) -> tuple[int, str]:
    """The first parameter whose grad is None for some steps between two steps with a grad
    (so it has a momentum buffer to keep), and those steps, numbered from 1."""
    for index in range(len(grads[0])):
        had, missing = False, []
        for step, step_grads in enumerate(grads, start=1):
            if step_grads[index] is None:
                missing += [step] if had else []
            elif missing:
                return index, ", ".join(str(s) for s in missing)
            else:
                had = True
    return 0, "?"


def _stored_hint(probe) -> str:
    """When MySGD does not hold the very tensors it was given, which receive `.grad`, say so:
    it holds new tensors sharing their memory (`p.detach()`), or fewer of them, or none;
    "" when it holds them all, or holds copies (which the frozen hint names)."""
    found = probe("stored", call=say("call_stored"), params=_params())
    kept, given = sum(found["kept"]), len(found["kept"])
    if kept == given:
        return ""
    if kept == 0 and found["sharing"]:
        return say("detached_params_hint")
    if kept == 0 and not found["others"]:
        return say("kept_none_hint", given=given)
    if kept:
        return say("kept_some_hint", kept=kept, given=given)
    return ""


def _frozen_hint(probe, as_generator: bool) -> str:
    """Nothing moved: with a generator, say whether a list would have worked."""
    if as_generator:
        found = probe("diagnose", call=say("call_diagnose"), params=_params(), grads=_grads(1)[0])
        if found["list_moves"] == [True, True]:
            moves = found["generator_moves"]
            return say("generator_hint" if moves == [True, False] else "generator_consumed_hint")
    return _stored_hint(probe) or say("frozen_hint")


def _observe_steps(probe, params, grads, lr, momentum=None, **flags) -> tuple[list, str]:
    optimizer = _optimizer_call(lr, momentum, flags.get("positional", False))
    call = say("call_steps", optimizer=optimizer, steps=len(grads))
    observed = _observe(
        probe, "steps", call, params=params, grads=grads, lr=lr, momentum=momentum, **flags
    )
    return observed, optimizer


def _expect_steps(probe, params, grads, lr, momentum=None, **flags) -> dict:
    """The student's parameters after every step equal torch.optim.SGD's."""
    observed, optimizer = _observe_steps(probe, params, grads, lr, momentum, **flags)
    actual = observed["trajectory"]
    expected = sgd_trajectory(params, grads, lr, momentum)
    for step, (got, want) in enumerate(zip(actual, expected, strict=True), start=1):
        for index, (a, e) in enumerate(zip(got, want, strict=True)):
            if a.shape == e.shape and torch.allclose(a.double(), e.double(), rtol=RTOL, atol=ATOL):
                continue
            mistake = trajectory_mistake(actual, params, grads, lr, momentum)
            if mistake == "frozen":
                hint = _frozen_hint(probe, flags.get("as_generator", False))
            elif mistake == "weight_decay":
                decay = estimated_weight_decay(actual, params, grads, lr, momentum)
                hint = say("weight_decay_hint", decay=f"{decay:.3g}")
            elif mistake in ("none_resets_buffer", "none_decays_buffer"):
                gap_index, gap_steps = _gap(grads)
                hint = say(MISTAKES[mistake], index=gap_index, steps=gap_steps)
            else:
                hint = say(MISTAKES[mistake]) if mistake else ""
            details = (
                describe_difference(a, e, RTOL, ATOL)
                if a.shape == e.shape
                else say("shape_changed", actual=fmt_shape(a.shape))
            )
            raise Failure(
                say(
                    "param_differs",
                    call=optimizer,
                    step=step,
                    index=index,
                    shape=fmt_shape(e.shape),
                    details=details,
                ),
                hint,
            )
    return observed


@check(points=1, category="api", covers=["zero-grad-clears", "zero-grad-none-ok"])
def test_zero_grad_clears_gradients(probe):
    """zero_grad() leaves every parameter's grad None or zero, also when a grad is None."""
    params = _params()
    grads = _grads(1, missing={(0, 1)})[0]
    call = say("call_zero_grad")
    try:
        observed = probe("zero_grad", call=call, params=params, grads=grads)
    except Failure as failure:
        if "NoneType" in failure.rationale:
            failure.help = say("zero_grad_none_hint")
        raise
    left = [
        grad is not None and (not isinstance(grad, torch.Tensor) or bool(grad.any()))
        for grad in observed["grads"]
    ]
    # Parameter 1 starts without a grad, so "cleared" is only telling for 0 and 2.
    partial = left[0] != left[2]
    for index, still in enumerate(left):
        if still:
            raise Failure(
                say("grad_left", call=call, index=index, shape=fmt_shape(SHAPES[index])),
                _stored_hint(probe)
                or say("zero_grad_partial_hint" if partial else "zero_grad_help"),
            )


@check(points=1, category="api", covers=["params-iterable"])
def test_accepts_a_generator(probe):
    """MySGD(model.parameters(), lr) works: a generator of parameters, updated at every step."""
    params = _params()
    _expect_steps(probe, params, _grads(3), lr=0.1, as_generator=True)


@check(points=1, category="api", covers=["no-torch-sgd"])
def test_written_by_hand(probe):
    """MySGD updates the parameters itself, without torch.optim.SGD."""
    params = _params()
    call = say("call_by_hand")
    observed = _observe(probe, "hand_written", call, params=params, grads=_grads(1)[0])
    if observed["calls"]:
        raise Failure(
            say("uses_torch_sgd", call=call, calls=", ".join(observed["calls"])),
            say("uses_torch_sgd_help"),
        )


@check(points=1, category="values", covers=["step-plain", "momentum-default", "sgd-class"])
def test_step_without_momentum(probe):
    """Without momentum, step() does p -= lr * p.grad for every parameter."""
    _expect_steps(probe, _params(), _grads(2), lr=0.1)


@check(
    points=1.5,
    category="values",
    covers=[
        "step-like-torch",
        "buffer-per-param",
        "buffer-first-step",
        "buffer-update",
        "momentum-step",
        "sgd-class",
    ],
)
def test_momentum_matches_torch(probe):
    """With momentum=0.9, five steps match torch.optim.SGD step by step."""
    _expect_steps(probe, _params(), _grads(5), lr=0.05, momentum=0.9)


@check(
    points=1,
    category="values",
    visibility="hidden",
    covers=[
        "step-like-torch",
        "buffer-per-param",
        "buffer-first-step",
        "buffer-update",
        "momentum-step",
        "sgd-class",
    ],
)
def test_momentum_matches_torch_other_settings(probe):
    """MySGD(params, 0.3, 0.5), momentum given by position: seven steps on other shapes."""
    shapes = [(2, 3, 2), (5,), (5,)]
    grads = _grads(7, shapes)
    _expect_steps(probe, _params(shapes), grads, lr=0.3, momentum=0.5, positional=True)


@check(points=0.5, category="values", covers=["step-skips-none"])
def test_skips_parameters_without_grad(probe):
    """step() leaves a parameter whose grad is None (and its momentum) untouched."""
    # Parameter 1 has a buffer, no grad on steps 2 and 3, then a grad again: its buffer must
    # have been kept as it was. Parameter 2 has no grad on step 1, before it has a buffer.
    missing = {(1, 1), (2, 1), (0, 2)}
    _expect_steps(probe, _params(), _grads(4, missing=missing), lr=0.2, momentum=0.9)


@check(points=0.5, category="values", covers=["buffer-first-step"])
def test_buffer_is_a_copy(probe):
    """The first buffer is a copy of the grad: gradients written in place don't change it."""
    params, grads, lr, momentum = _params(), _grads(4), 0.05, 0.8
    try:
        _expect_steps(probe, params, grads, lr, momentum, in_place_grads=True)
    except Failure as failure:
        try:
            observed, _ = _observe_steps(probe, params, grads, lr, momentum)
        except Failure:
            raise failure from None
        expected = sgd_trajectory(params, grads, lr, momentum)
        if _same_trajectory(observed["trajectory"], expected):
            failure.help = say("buffer_alias_hint")
        raise


@check(points=0.5, category="api", covers=["update-in-place", "update-no-grad"])
def test_update_in_place(probe):
    """step() moves the model's own tensors, which stay leaves that require grad."""
    params, grads = _params(), _grads(2)
    observed, optimizer = _observe_steps(probe, params, grads, 0.05, 0.9)
    last = observed["trajectory"][-1]
    if all(torch.equal(a, p) for a, p in zip(last, params, strict=True)):
        raise Failure(say("not_moved", call=optimizer), _frozen_hint(probe, False))
    for index, ok in enumerate(observed["leaves"]):
        if not ok:
            raise Failure(
                say("not_a_leaf", call=optimizer, index=index, shape=fmt_shape(SHAPES[index])),
                say("requires_grad_off_hint"),
            )


def _regression(n: int = 64, features: int = 3):
    inputs = seeded_randn(n, features)
    targets = inputs @ seeded_randn(features, 1) + 0.5 + seeded_randn(n, 1, scale=0.05)
    state = {"weight": seeded_randn(1, features, scale=0.5), "bias": seeded_randn(1, scale=0.5)}
    return state, inputs, targets


def _observe_training(probe, lr: float, momentum: float, epochs: int):
    state, inputs, targets = _regression()
    optimizer = f"MySGD(model.parameters(), {lr}, momentum={momentum})"
    call = say("call_train", optimizer=optimizer, epochs=epochs)
    observed = _observe(
        probe,
        "train",
        call,
        state=state,
        inputs=inputs,
        targets=targets,
        lr=lr,
        momentum=momentum,
        epochs=epochs,
    )
    losses = observed["losses"]

    def hint() -> str:
        mistake = next(
            (
                mistake
                for mistake in MISTAKES
                if mistake not in ("weight_decay", "default_momentum")
                and _same_losses(
                    losses, training_losses(state, inputs, targets, lr, momentum, epochs, mistake)
                )
            ),
            "",
        )
        if mistake == "frozen":  # model.parameters() is a generator here
            return _frozen_hint(probe, as_generator=True)
        return say(MISTAKES[mistake]) if mistake else ""

    return losses, call, hint, (state, inputs, targets)


@check(points=1, category="convergence", covers=["step-like-torch", "params-iterable"])
def test_training_follows_torch_sgd(probe):
    """Training nn.Linear with MySGD(lr=0.05, momentum=0.9) gives torch.optim.SGD's losses."""
    lr, momentum, epochs = 0.05, 0.9, 20
    losses, call, hint, (state, inputs, targets) = _observe_training(probe, lr, momentum, epochs)
    expected = training_losses(state, inputs, targets, lr, momentum, epochs)
    record_curve(say("curve_losses"), losses, expected)
    if _same_losses(losses, expected):
        return
    for epoch, (got, want) in enumerate(zip(losses, expected, strict=True), start=1):
        if got is None or abs(got - want) > 1e-5 + 1e-4 * abs(want):
            raise Failure(
                say("losses_differ", call=call, epoch=epoch, actual=got, expected=want), hint()
            )


@check(points=1, category="convergence", covers=["step-like-torch", "zero-grad-clears"])
def test_regression_converges(probe):
    """MySGD(lr=0.02, momentum=0.9) trains a linear regression to a small loss in 80 epochs."""
    losses, call, hint, _ = _observe_training(probe, lr=0.02, momentum=0.9, epochs=80)
    try:
        expect_converges(losses, call, below=0.05)
    except Failure as failure:
        failure.help = failure.help or hint()
        raise
