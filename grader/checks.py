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
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
import torch

from grader.messages import say
from grader.report import CATEGORIES, VISIBILITIES

F = TypeVar("F", bound=Callable[..., Any])
CHECK_MARKER = "check"


class Failure(Exception):
    """The student's code is wrong. `rationale` says what happened; `help` what to try."""

    def __init__(self, rationale: str, help: str = "") -> None:
        super().__init__(rationale)
        self.rationale = rationale
        self.help = help


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
    points: float, category: str, visibility: str | None = None, timeout: float | None = None
) -> Callable[[F], F]:
    """Mark a pytest function as a graded check."""
    if category not in CATEGORIES:
        raise ValueError(f"category {category!r} is not one of {', '.join(CATEGORIES)}")
    if visibility is not None and visibility not in VISIBILITIES:
        raise ValueError(f"visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}")
    if points < 0:
        raise ValueError("points must not be negative")

    def decorate(function: F) -> F:
        marker = getattr(pytest.mark, CHECK_MARKER)
        decorated: F = marker(
            points=float(points), category=category, visibility=visibility, timeout=timeout
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


def expect_tensor(actual: Any, call: str) -> torch.Tensor:
    __tracebackhide__ = True
    if not isinstance(actual, torch.Tensor):
        raise Failure(say("not_a_tensor", call=call, kind=type(actual).__name__))
    return actual


def expect_shape(
    actual: Any, expected: Sequence[int], call: str, hints: dict[tuple[int, ...], str] | None = None
) -> None:
    """Fail unless `actual` is a tensor of shape `expected`; `hints` maps wrong shapes to help."""
    __tracebackhide__ = True
    tensor = expect_tensor(actual, call)
    got = tuple(tensor.shape)
    want = tuple(expected)
    if got != want:
        raise Failure(
            say("wrong_shape", call=call, actual=fmt_shape(got), expected=fmt_shape(want)),
            (hints or {}).get(got, ""),
        )


def expect_close(
    actual: Any,
    expected: torch.Tensor,
    call: str,
    hint: str = "",
    rtol: float | None = None,
    atol: float | None = None,
) -> None:
    """`torch.testing.assert_close`, with a message that names the call and a hint."""
    __tracebackhide__ = True
    tensor = expect_tensor(actual, call)
    expect_shape(tensor, tuple(expected.shape), call)
    if tensor.dtype != expected.dtype:
        tensor = tensor.to(expected.dtype)
    try:
        torch.testing.assert_close(tensor, expected, rtol=rtol, atol=atol, equal_nan=False)
    except AssertionError as exc:
        details = " ".join(line.strip() for line in str(exc).splitlines()[1:] if line.strip())
        raise Failure(say("values_differ", call=call, details=details), hint) from None


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
