"""What a check shows beside its verdict, as bounded data: the curves it compared and the
worst entries of a value mismatch, so a report can chart and tabulate them.

A check calls `record_curve` with what it observed and what it expected (losses per epoch, a
parameter per step); `expect_close` records the worst entries itself. The judge collects the
evidence of each check and sends it with the verdict; nothing here decides pass or fail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from grader.report import (
    MAX_CURVE_POINTS,
    MAX_CURVES_PER_CHECK,
    MAX_WORST_ENTRIES,
    Curve,
    WorstEntry,
)

_recorded: list[Curve] = []
_worst: list[WorstEntry] = []


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _parted(actual: float | None, expected: float | None, rtol: float, atol: float) -> bool:
    if actual is None or expected is None:
        return actual is not expected
    if not (math.isfinite(actual) and math.isfinite(expected)):
        return not (actual == expected or (math.isnan(actual) and math.isnan(expected)))
    return abs(actual - expected) > atol + rtol * abs(expected)


def first_divergence(
    actual: Sequence[Any], expected: Sequence[Any], rtol: float = 1e-4, atol: float = 1e-6
) -> int | None:
    """The 0-based index where two trajectories first part (a length difference counts)."""
    for index, (a, e) in enumerate(zip(actual, expected, strict=False)):
        if _parted(_number(a), _number(e), rtol, atol):
            return index
    if len(actual) != len(expected):
        return min(len(actual), len(expected))
    return None


def _thinned(length: int, keep: int | None) -> list[int]:
    if length <= MAX_CURVE_POINTS:
        return list(range(length))
    step = math.ceil(length / (MAX_CURVE_POINTS - 2))
    chosen = set(range(0, length, step)) | {length - 1}
    if keep is not None and keep < length:
        chosen.add(keep)
    return sorted(chosen)


def make_curve(
    label: str,
    actual: Sequence[Any],
    expected: Sequence[Any] | None = None,
    x_label: str = "epoch",
    rtol: float = 1e-4,
    atol: float = 1e-6,
) -> Curve:
    """A bounded `Curve` of `actual` against `expected`, with the first divergence marked."""
    actual_values = [_number(v) for v in actual]
    expected_values = [_number(v) for v in expected] if expected is not None else []
    parted = (
        first_divergence(actual_values, expected_values, rtol, atol)
        if expected is not None
        else None
    )
    length = max(len(actual_values), len(expected_values))
    indices = _thinned(length, parted)

    def at(values: list[float | None], index: int) -> float | None:
        return values[index] if index < len(values) else None

    return Curve(
        label=label,
        x_label=x_label,
        x=[i + 1 for i in indices],
        actual=[at(actual_values, i) for i in indices],
        expected=[at(expected_values, i) for i in indices] if expected is not None else [],
        diverges_at=None if parted is None else parted + 1,
    )


def record_curve(
    label: str,
    actual: Sequence[Any],
    expected: Sequence[Any] | None = None,
    x_label: str = "epoch",
    rtol: float = 1e-4,
    atol: float = 1e-6,
) -> None:
    """Attach a trajectory to the running check's result (at most a few per check)."""
    if len(_recorded) < MAX_CURVES_PER_CHECK:
        _recorded.append(make_curve(label, actual, expected, x_label, rtol, atol))


def record_worst(actual: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float) -> None:
    """Keep the entries of `actual` furthest from `expected` (same shape), worst first."""
    if _worst or actual.shape != expected.shape or not expected.numel():
        return
    a, e = actual.detach().double().reshape(-1), expected.detach().double().reshape(-1)
    gap = (a - e).abs().nan_to_num(nan=float("inf"), posinf=float("inf"))
    differs = ~torch.isclose(a, e, rtol=rtol, atol=atol)
    gap = torch.where(differs, gap, torch.full_like(gap, -1.0))
    count = min(MAX_WORST_ENTRIES, int(differs.sum()))
    for flat in gap.argsort(descending=True, stable=True)[:count].tolist():
        index = torch.unravel_index(torch.tensor(flat), expected.shape)
        position = "(" + ", ".join(str(int(i)) for i in index) + ")"
        _worst.append(WorstEntry(index=position, actual=float(a[flat]), expected=float(e[flat])))


def take_recorded() -> tuple[list[Curve], list[WorstEntry]]:
    """The evidence recorded since the last call, for the judge to attach to a verdict."""
    taken = (list(_recorded), list(_worst))
    _recorded.clear()
    _worst.clear()
    return taken
