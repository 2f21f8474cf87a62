"""The public API for check authors.

A check is a pytest function decorated with `@check(...)`. Its docstring is what the student
reads. It asks the sandbox for an observation with the `probe` fixture, computes the expected
values with torch in the judge, and fails with `Failure` or `Mismatch`:

    @check(points=1, category="shapes")
    def test_output_shape(probe):
        '''MyLinear(3, 2) maps a (4, 3) batch to shape (4, 2).'''
        observed = probe("forward", call="MyLinear(3, 2)(x)", in_features=3, ...)
        expect_shape(observed["output"], (4, 2), call="MyLinear(3, 2)(x)")

A check ends passed (no exception), failed (`Failure`, or a plain `assert`), timed out (a
probe hit its deadline) or errored (any other exception: the grader's fault, not the student's).

The helpers, all raising `Failure` with a catalogue message that names the call:

- `expect_tensor`, `expect_shape` (with hints for known wrong shapes), `expect_finite`;
- `expect_close`: `torch.testing.assert_close` decides; the message says how many values
  differ and shows the worst one;
- `known_mistake`: which known wrong answer an observation equals, as that mistake's hint;
- `autograd_gradients` and `expect_gradient`: an analytic gradient the student computed,
  against autograd run here in double precision; `expect_gradcheck` runs
  `torch.autograd.gradcheck` on a function the check itself builds;
- `expect_converges`: a loss trajectory that falls, and ends below a limit;
- `hints`: attach help to any failure raised inside, by a symptom in its message.

Spies that record call order (`CallLog`, `spy_optimizer`, `spy_module`, `SpyCriterion`) run next
to student code, so they live with the probe helpers in `grader.sandbox.probing`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
import torch

from grader import tolerance
from grader.evidence import record_curve, record_worst
from grader.messages import say
from grader.report import CATEGORIES, VISIBILITIES

F = TypeVar("F", bound=Callable[..., Any])
CHECK_MARKER = "check"


class Failure(Exception):
    """The student's code is wrong. `rationale` says what happened; `help` what to try.

    `cause` is set by the judge when the failure has a root cause shared by the whole
    assignment ("import": the file does not import; "missing:<name>": the file does not
    define a name), so the reports can say it once (`grader.formats.views`). `advice` is
    the judge's generic advice for a common exception (`grader.feedback.explain_exception`):
    it is shown only when no check-specific `help` was attached (e.g. by `hints`).
    """

    def __init__(self, rationale: str, help: str = "", cause: str = "", advice: str = "") -> None:
        super().__init__(rationale)
        self.rationale = rationale
        self.help = help
        self.cause = cause
        self.advice = advice


class Mismatch(Failure):
    """A value came back different from what was expected."""

    def __init__(self, expected: Any, actual: Any, call: str = "", help: str = "") -> None:
        rationale = say(
            "mismatch", call=call or say("the_result"), expected=expected, actual=actual
        )
        super().__init__(rationale, help)
        self.expected = expected
        self.actual = actual


class ProbeTimeout(Failure):
    """A probe call hit its wall-clock deadline."""


def check(
    points: float,
    category: str,
    visibility: str | None = None,
    timeout: float | None = None,
    covers: Sequence[str] = (),
) -> Callable[[F], F]:
    """Mark a pytest function as a graded check. `covers` names the contract clauses (ids from
    the exercise's assignment.toml) that a failure of this check shows broken."""
    if category not in CATEGORIES:
        raise ValueError(f"category {category!r} is not one of {', '.join(CATEGORIES)}")
    if visibility is not None and visibility not in VISIBILITIES:
        raise ValueError(f"visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}")
    if points < 0:
        raise ValueError("points must not be negative")
    if isinstance(covers, str):
        raise ValueError("covers takes a list of clause ids, not one string")

    def decorate(function: F) -> F:
        marker = getattr(pytest.mark, CHECK_MARKER)
        decorated: F = marker(
            points=float(points),
            category=category,
            visibility=visibility,
            timeout=timeout,
            covers=tuple(covers),
        )(function)
        return decorated

    return decorate


def shape_of(value: Any) -> tuple[int, ...] | None:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def fmt_shape(shape: Sequence[int] | None) -> str:
    if shape is None:
        return "?"
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def kind_name(kind: str) -> str:
    """What `probing.kind_of` found (missing, none, parameter, tensor, other), in words."""
    try:
        return say(f"kind_{kind}")
    except KeyError:
        return kind


def expect_tensor(actual: Any, call: str) -> torch.Tensor:
    __tracebackhide__ = True
    if not isinstance(actual, torch.Tensor):
        raise Failure(say("not_a_tensor", call=call, kind=type(actual).__name__))
    return actual


ShapeHints = dict[tuple[int, ...], str]


def expect_shape(
    actual: Any,
    expected: Sequence[int],
    call: str,
    hints: ShapeHints | Callable[[], ShapeHints] | None = None,
) -> None:
    """Fail unless `actual` is a tensor of shape `expected`; `hints` maps wrong shapes to help.
    `hints` may be a function, called only when the shape is wrong: a hint that needs another
    probe call then costs nothing when the submission is right."""
    __tracebackhide__ = True
    tensor = expect_tensor(actual, call)
    got = tuple(tensor.shape)
    want = tuple(expected)
    if got != want:
        known = hints() if callable(hints) else hints
        raise Failure(
            say("wrong_shape", call=call, actual=fmt_shape(got), expected=fmt_shape(want)),
            (known or {}).get(got, ""),
        )


def _tolerances(
    dtype: torch.dtype,
    rtol: float | None,
    atol: float | None,
    kind: str = "values",
    steps: int = 1,
) -> tuple[float, float]:
    """The tolerances of the one policy (`grader.tolerance`), unless a check gives its own."""
    chosen = tolerance.resolve(kind, dtype, rtol, atol, steps)
    return chosen.rtol, chosen.atol


def _worst_difference(
    actual: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float
) -> tuple[int, tuple[int, ...], float, float]:
    """How many values differ, and the index, actual and expected value of the worst one."""
    a, e = actual.double(), expected.double()
    differs = ~torch.isclose(a, e, rtol=rtol, atol=atol)
    count = int(differs.sum())
    gap = (a - e).abs().nan_to_num(nan=float("inf"))
    gap = torch.where(differs, gap, torch.full_like(gap, -1.0))
    flat = int(gap.argmax()) if gap.numel() else 0
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), a.shape))
    return count, index, float(a.reshape(-1)[flat]), float(e.reshape(-1)[flat])


def describe_difference(
    actual: torch.Tensor,
    expected: torch.Tensor,
    rtol: float | None = None,
    atol: float | None = None,
    kind: str = "values",
    steps: int = 1,
) -> str:
    """How two tensors of one shape differ, for a message: how many values, and the worst."""
    rtol, atol = _tolerances(expected.dtype, rtol, atol, kind, steps)
    actual = actual.to(expected.dtype)
    if expected.numel() == 1:
        return say(
            "close_details_one", actual=float(actual.reshape(-1)[0]), expected=float(expected)
        )
    count, index, got, want = _worst_difference(actual, expected, rtol, atol)
    return say(
        "close_details",
        count=max(count, 1),
        total=expected.numel(),
        index=fmt_shape(index),
        actual=got,
        expected=want,
    )


def expect_close(
    actual: Any,
    expected: torch.Tensor,
    call: str,
    hint: str = "",
    rtol: float | None = None,
    atol: float | None = None,
    kind: str = "values",
    steps: int = 1,
) -> None:
    """`torch.testing.assert_close` decides; the message names the call and the worst value.

    `hint` is attached to any failure here, a wrong shape included: pass the help for the
    mistake this observation was recognised as (see `known_mistake`). The tolerances are
    the policy's for `kind` (values, gradients, losses, parameters after `steps` steps; see
    `grader.tolerance`) unless `rtol`/`atol` are given.
    """
    __tracebackhide__ = True
    tensor = expect_tensor(actual, call)
    if tuple(tensor.shape) != tuple(expected.shape):
        shapes = {"actual": fmt_shape(tuple(tensor.shape)), "expected": fmt_shape(expected.shape)}
        raise Failure(say("wrong_shape", call=call, **shapes), hint)
    if tensor.dtype != expected.dtype:
        tensor = tensor.to(expected.dtype)
    try:
        tolerance.assert_close(tensor, expected, kind, steps, rtol, atol)
    except AssertionError:
        record_worst(tensor, expected, *_tolerances(expected.dtype, rtol, atol, kind, steps))
        details = describe_difference(tensor, expected, rtol, atol, kind, steps)
        raise Failure(say("values_differ", call=call, details=details), hint) from None


def known_mistake(
    actual: Any, mistakes: Mapping[str, torch.Tensor], rtol: float = 1e-4, atol: float = 1e-6
) -> str:
    """The hint of the first known wrong answer that `actual` equals, or "".

    `mistakes` maps a hint to the value that mistake produces, computed in the judge:
    `{say("sign_hint"): -expected, say("sum_not_mean_hint"): m * expected}`.
    """
    if not isinstance(actual, torch.Tensor):
        return ""
    for hint, value in mistakes.items():
        if actual.shape == value.shape and torch.allclose(
            actual.double(), value.double(), rtol=rtol, atol=atol
        ):
            return hint
    return ""


def expect_finite(actual: Any, call: str, hint: str = "") -> torch.Tensor:
    __tracebackhide__ = True
    tensor = expect_tensor(actual, call)
    bad = int((~torch.isfinite(tensor.double())).sum())
    if bad:
        raise Failure(say("not_finite", call=call, count=bad, total=tensor.numel()), hint)
    return tensor


@contextmanager
def hints(mapping: dict[str, str]) -> Iterator[None]:
    """Attach help to a `Failure` raised inside, when its message contains a known symptom."""
    __tracebackhide__ = True
    try:
        yield
    except Failure as failure:
        if not failure.help:
            failure.help = next(
                (text for symptom, text in mapping.items() if symptom in failure.rationale), ""
            )
        raise


def seeded_randn(*shape: int, scale: float = 1.0) -> torch.Tensor:
    """Inputs for a probe, from the judge's per-check seed (set before each check)."""
    return torch.randn(*shape) * scale


def autograd_gradients(
    function: Callable[..., torch.Tensor],
    wrt: Mapping[str, torch.Tensor],
    given: Mapping[str, torch.Tensor] | None = None,
    grad_output: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The gradients of `function(**wrt, **given)` with respect to each tensor in `wrt`.

    Autograd runs here, in the judge, in double precision: every floating tensor is promoted
    to float64 first, and each gradient comes back in the dtype of its `wrt` tensor. A
    non-scalar output needs `grad_output` (the `g` in `output.backward(g)`).
    """

    def promote(t: torch.Tensor) -> torch.Tensor:
        return t.detach().double() if t.is_floating_point() else t.detach()

    leaves = {name: promote(t).requires_grad_() for name, t in wrt.items()}
    constants = {name: promote(t) for name, t in (given or {}).items()}
    with torch.enable_grad():
        output = function(**leaves, **constants)
        seed = None if grad_output is None else promote(grad_output)
        grads = torch.autograd.grad(output, list(leaves.values()), grad_outputs=seed)
    return {name: g.to(wrt[name].dtype) for name, g in zip(leaves, grads, strict=True)}


def expect_gradient(
    actual: Any,
    expected: torch.Tensor,
    call: str,
    mistakes: Mapping[str, torch.Tensor] | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> None:
    """An analytic gradient the student computed, against the autograd one (`expected`).

    `mistakes` maps a hint to the gradient a known mistake gives (`-expected` for a sign
    error, `m * expected` for a sum instead of a mean); a match attaches that hint.
    """
    __tracebackhide__ = True
    if actual is None:
        raise Failure(say("gradient_none", call=call))
    hint = known_mistake(actual, mistakes or {})
    expect_close(actual, expected, call, hint=hint, rtol=rtol, atol=atol, kind="gradients")


def expect_gradcheck(
    function: Callable[..., torch.Tensor],
    *inputs: torch.Tensor,
    call: str,
    hint: str = "",
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> None:
    """`torch.autograd.gradcheck` on a judge-side function, in double precision.

    For a check that builds a differentiable function from what it observed (or its own
    expected-value formula with a hand-written backward): fails when autograd and finite
    differences disagree.
    """
    __tracebackhide__ = True
    leaves = tuple(t.detach().double().requires_grad_() for t in inputs)
    try:
        torch.autograd.gradcheck(function, leaves, eps=eps, atol=atol, rtol=rtol)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Failure(say("gradcheck_failed", call=call, details=first), hint) from None


def expect_converges(
    losses: Sequence[float | None],
    call: str,
    below: float | None = None,
    falling: bool = True,
    hint: str = "",
) -> None:
    """A loss trajectory (one value per epoch or snapshot) that is finite, falls, and ends low.

    `falling` asks for the last loss to be below the first; `below` for the last loss to be
    under a limit. The failure names the call, the first and last loss, and the limit.
    """
    __tracebackhide__ = True
    if losses:
        record_curve(say("curve_losses"), list(losses))
    if not losses:
        raise Failure(say("converge_empty", call=call), hint)
    for epoch, loss in enumerate(losses, start=1):
        if loss is None or not torch.isfinite(torch.tensor(float(loss))):
            raise Failure(say("converge_not_finite", call=call, epoch=epoch, value=loss), hint)
    first, last = float(losses[0]), float(losses[-1])  # type: ignore[arg-type]
    if falling and len(losses) > 1 and not last < first:
        raise Failure(say("converge_not_falling", call=call, first=first, last=last), hint)
    if below is not None and not last < below:
        raise Failure(say("converge_above", call=call, last=last, limit=below), hint)
