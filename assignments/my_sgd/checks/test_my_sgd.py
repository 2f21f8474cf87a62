"""Hidden checks for my_sgd: MySGD(params, lr, momentum=0.0) with zero_grad() and step().

Every expected value comes from torch.optim.SGD, run here in the judge on the same start and
the same gradients. Known mistakes are replayed here too (`_Replay`), to name the one a
student made when the parameters end up where that mistake would put them.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import torch

from grader.checks import (
    Failure,
    check,
    describe_difference,
    expect_converges,
    fmt_shape,
    hints,
    seeded_randn,
)
from grader.evidence import record_curve
from grader.messages import say

SHAPES = [(3, 2), (2,), (4,)]
RTOL, ATOL = 1e-5, 1e-6
MISTAKES = {
    "frozen": "not_updated_hint",
    "first_only": "generator_hint",
    "plain": "plain_hint",
    "dampened": "dampened_hint",
    "late_buffer": "late_buffer_hint",
    "ascent": "ascent_hint",
    "no_lr": "no_lr_hint",
    "no_zero_grad": "accumulate_hint",
}


class _Replay:
    """SGD with momentum by torch.optim.SGD's rule, or with one known `mistake`, in the judge."""

    def __init__(self, params: list[torch.Tensor], lr: float, momentum: float, mistake: str):
        self.params, self.lr, self.momentum, self.mistake = params, lr, momentum, mistake
        self.buffers: list[torch.Tensor | None] = [None] * len(params)
        self.steps = 0

    def zero_grad(self) -> None:
        if self.mistake != "no_zero_grad":
            for p in self.params:
                p.grad = None

    def _direction(self, i: int, grad: torch.Tensor) -> torch.Tensor:
        m, buf = self.momentum, self.buffers[i]
        if self.mistake == "plain" or m == 0:
            return grad
        if self.mistake == "dampened":
            self.buffers[i] = m * (buf if buf is not None else 0) + (1 - m) * grad
            return self.buffers[i]
        if self.mistake == "late_buffer":
            old = buf if buf is not None else torch.zeros_like(grad)
            self.buffers[i] = m * old + grad
            return old
        self.buffers[i] = grad.clone() if buf is None else m * buf + grad
        return self.buffers[i]

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        if self.mistake == "frozen" or (self.mistake == "first_only" and self.steps > 1):
            return
        scale = {"ascent": -self.lr, "no_lr": 1.0}.get(self.mistake, self.lr)
        for i, p in enumerate(self.params):
            if p.grad is not None:
                p -= scale * self._direction(i, p.grad)


def _optimizer(params: list[torch.Tensor], lr: float, momentum: float, mistake: str = ""):
    if not mistake:
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    return _Replay(params, lr, momentum, mistake)


def sgd_trajectory(params, grads, lr: float, momentum: float, mistake: str = ""):
    """The parameters after each step, with the check's gradients set before each step."""
    leaves = [p.clone().requires_grad_() for p in params]
    optimizer = _optimizer(leaves, lr, momentum, mistake)
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


def _mistake_hint(matches) -> str:
    """The hint of the first known mistake `matches(mistake)` recognises, or ""."""
    return next((say(key) for mistake, key in MISTAKES.items() if matches(mistake)), "")


@contextmanager
def _known_errors():
    with hints(
        {
            "leaf Variable that requires grad": say("no_grad_hint"),
            "'NoneType' object": say("none_grad_hint"),
            "NoneType": say("none_grad_hint"),
        }
    ):
        yield


def _optimizer_call(lr: float, momentum: float | None) -> str:
    return (
        f"MySGD(params, {lr})" if momentum is None else f"MySGD(params, {lr}, momentum={momentum})"
    )


def _params(shapes=SHAPES) -> list[torch.Tensor]:
    return [seeded_randn(*shape) for shape in shapes]


def _grads(count: int, shapes=SHAPES, missing: set[tuple[int, int]] = frozenset()):
    """Gradients for `count` steps; (step, index) in `missing` gets None."""
    return [
        [None if (step, i) in missing else seeded_randn(*shape) for i, shape in enumerate(shapes)]
        for step in range(count)
    ]


def _expect_steps(probe, params, grads, lr, momentum=None, as_generator=False) -> None:
    """The student's parameters after every step equal torch.optim.SGD's."""
    optimizer = _optimizer_call(lr, momentum)
    call = say("call_steps", optimizer=optimizer, steps=len(grads))
    with _known_errors():
        observed = probe(
            "steps",
            call=call,
            params=params,
            grads=grads,
            lr=lr,
            momentum=momentum,
            as_generator=as_generator,
        )
    actual = observed["trajectory"]
    expected = sgd_trajectory(params, grads, lr, momentum or 0.0)
    for step, (got, want) in enumerate(zip(actual, expected, strict=True), start=1):
        for index, (a, e) in enumerate(zip(got, want, strict=True)):
            if a.shape == e.shape and torch.allclose(a, e, rtol=RTOL, atol=ATOL):
                continue
            hint = _mistake_hint(
                lambda mistake: _same_trajectory(
                    actual, sgd_trajectory(params, grads, lr, momentum or 0.0, mistake)
                )
            )
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


@check(points=1, category="api")
def test_zero_grad_clears_gradients(probe):
    """zero_grad() leaves every parameter's grad None or zero, also when a grad is None."""
    params = _params()
    grads = _grads(1, missing={(0, 1)})[0]
    call = say("call_zero_grad")
    with _known_errors():
        observed = probe("zero_grad", call=call, params=params, grads=grads)
    for index, grad in enumerate(observed["grads"]):
        if grad is not None and (not isinstance(grad, torch.Tensor) or bool(grad.any())):
            raise Failure(
                say("grad_left", call=call, index=index, shape=fmt_shape(SHAPES[index])),
                say("zero_grad_help"),
            )


@check(points=1, category="api")
def test_accepts_a_generator(probe):
    """MySGD(model.parameters(), lr) works: a generator of parameters, updated at every step."""
    params = _params()
    _expect_steps(probe, params, _grads(3), lr=0.1, as_generator=True)


@check(points=1, category="api")
def test_written_by_hand(probe):
    """MySGD updates the parameters itself, without torch.optim.SGD."""
    params = _params()
    call = say("call_by_hand")
    with _known_errors():
        observed = probe("hand_written", call=call, params=params, grads=_grads(1)[0])
    if observed["calls"]:
        raise Failure(
            say("uses_torch_sgd", call=call, calls=", ".join(observed["calls"])),
            say("uses_torch_sgd_help"),
        )


@check(points=1, category="values")
def test_step_without_momentum(probe):
    """Without momentum, step() does p -= lr * p.grad for every parameter."""
    _expect_steps(probe, _params(), _grads(2), lr=0.1)


@check(points=1.5, category="values")
def test_momentum_matches_torch(probe):
    """With momentum=0.9, five steps match torch.optim.SGD step by step."""
    _expect_steps(probe, _params(), _grads(5), lr=0.1, momentum=0.9)


@check(points=1, category="values", visibility="hidden")
def test_momentum_matches_torch_other_settings(probe):
    """With lr=0.3 and momentum=0.5, seven steps on other shapes match torch.optim.SGD."""
    shapes = [(2, 3, 2), (5,)]
    _expect_steps(probe, _params(shapes), _grads(7, shapes), lr=0.3, momentum=0.5)


@check(points=0.5, category="values")
def test_skips_parameters_without_grad(probe):
    """step() leaves a parameter whose grad is None (and its momentum) untouched."""
    missing = {(0, 1), (1, 1), (2, 1), (3, 1), (1, 2)}
    _expect_steps(probe, _params(), _grads(4, missing=missing), lr=0.1, momentum=0.9)


def _regression(n: int = 64, features: int = 3):
    inputs = seeded_randn(n, features)
    targets = inputs @ seeded_randn(features, 1) + 0.5 + seeded_randn(n, 1, scale=0.05)
    state = {"weight": seeded_randn(1, features, scale=0.5), "bias": seeded_randn(1, scale=0.5)}
    return state, inputs, targets


def _observe_training(probe, lr: float, momentum: float, epochs: int):
    state, inputs, targets = _regression()
    optimizer = f"MySGD(model.parameters(), {lr}, momentum={momentum})"
    call = say("call_train", optimizer=optimizer, epochs=epochs)
    with _known_errors():
        observed = probe(
            "train",
            call=call,
            state=state,
            inputs=inputs,
            targets=targets,
            lr=lr,
            momentum=momentum,
            epochs=epochs,
        )
    losses = observed["losses"]

    def hint() -> str:
        return _mistake_hint(
            lambda mistake: _same_losses(
                losses, training_losses(state, inputs, targets, lr, momentum, epochs, mistake)
            )
        )

    return losses, call, hint, (state, inputs, targets)


@check(points=1.5, category="convergence")
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


@check(points=1.5, category="convergence")
def test_regression_converges(probe):
    """MySGD(lr=0.02, momentum=0.9) trains a linear regression to a small loss in 80 epochs."""
    losses, call, hint, _ = _observe_training(probe, lr=0.02, momentum=0.9, epochs=80)
    try:
        expect_converges(losses, call, below=0.05)
    except Failure as failure:
        failure.help = failure.help or hint()
        raise
