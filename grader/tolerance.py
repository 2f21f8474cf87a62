"""One tolerance policy for every check: how close a student's number must be to count as equal.

Equivalent code is correct code. Two formulations of the same mathematics (`torch.addmm`
against `x @ w + b`, a sum in another order, `mean` against `sum / m`, `einsum` against
`matmul`) round differently, and a check must accept both. The policy is written once, here,
per dtype and per kind of quantity, and `torch.testing.assert_close` applies it:

| kind | what it is | float32 (rtol, atol) | float64 (rtol, atol) |
|---|---|---|---|
| `values` | a forward output, any tensor computed in one pass | 1e-5, 1e-5 | 1e-7, 1e-7 |
| `gradients` | a gradient (backward, or a formula written by hand) | 1e-4, 1e-5 | 1e-6, 1e-7 |
| `losses` | a scalar loss, or a list of them | 1e-5, 1e-6 | 1e-7, 1e-9 |
| `parameters` | parameters after `steps` optimizer steps | 1e-5·k, 1e-5·k | 1e-7·k, 1e-7·k |

where `k = max(1, steps)`, capped at 100: rounding differences accumulate roughly linearly
over steps. Half precisions (float16, bfloat16) use torch's own defaults for them, times
the same factors. Integer and boolean tensors must be equal.

Why these numbers. float32 has a machine epsilon of 1.2e-7; a dot product of `n` terms in
another order can differ by about `n·eps` relative to the sum of the magnitudes. torch's
default for float32 (rtol 1.3e-6) is about ten ulps, right for one elementwise operation but
tight for a reduction over hundreds of terms, so values get 1e-5. Gradients pass through one
more reduction and a hand-written formula (`(1/m)·x(ŷ−y)ᵀ` against autograd's order), so
they get 1e-4. A known mistake (a factor of `m`, a sign, a missing bias) moves values by far
more than any of these, which `tests/test_tolerance.py` shows next to real alternative
computations that must land inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

Kind = Literal["values", "gradients", "losses", "parameters"]
KINDS: tuple[str, ...] = ("values", "gradients", "losses", "parameters")
MAX_STEP_FACTOR = 100


@dataclass(frozen=True)
class Tolerance:
    """A relative and an absolute tolerance, as `torch.testing.assert_close` takes them."""

    rtol: float
    atol: float


_FLOAT32: dict[str, Tolerance] = {
    "values": Tolerance(1e-5, 1e-5),
    "gradients": Tolerance(1e-4, 1e-5),
    "losses": Tolerance(1e-5, 1e-6),
    "parameters": Tolerance(1e-5, 1e-5),
}
_FLOAT64: dict[str, Tolerance] = {
    "values": Tolerance(1e-7, 1e-7),
    "gradients": Tolerance(1e-6, 1e-7),
    "losses": Tolerance(1e-7, 1e-9),
    "parameters": Tolerance(1e-7, 1e-7),
}
# torch's own defaults for half precision, then the same relative widening as float32's.
_HALF_BASE = {torch.float16: Tolerance(1e-3, 1e-5), torch.bfloat16: Tolerance(1.6e-2, 1e-5)}
_HALF_FACTOR = {"values": 1.0, "gradients": 10.0, "losses": 1.0, "parameters": 1.0}


def policy(kind: str = "values", dtype: torch.dtype = torch.float32, steps: int = 1) -> Tolerance:
    """The tolerance for a quantity of `kind` in `dtype`; `steps` only widens `parameters`."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if dtype in (torch.float64, torch.complex128):
        base = _FLOAT64[kind]
    elif dtype in _HALF_BASE:
        half, factor = _HALF_BASE[dtype], _HALF_FACTOR[kind]
        base = Tolerance(half.rtol * factor, half.atol * factor)
    elif dtype.is_floating_point or dtype.is_complex:
        base = _FLOAT32[kind]
    else:
        return Tolerance(0.0, 0.0)
    if kind == "parameters":
        k = min(max(1, int(steps)), MAX_STEP_FACTOR)
        return Tolerance(base.rtol * k, base.atol * k)
    return base


def resolve(
    kind: str,
    dtype: torch.dtype,
    rtol: float | None = None,
    atol: float | None = None,
    steps: int = 1,
) -> Tolerance:
    """The policy, with an explicit `rtol` or `atol` (a check that knows better) winning."""
    chosen = policy(kind, dtype, steps)
    return Tolerance(chosen.rtol if rtol is None else rtol, chosen.atol if atol is None else atol)


def assert_close(
    actual: Any,
    expected: Any,
    kind: str = "values",
    steps: int = 1,
    rtol: float | None = None,
    atol: float | None = None,
    **kwargs: Any,
) -> None:
    """`torch.testing.assert_close` with the policy's tolerances for `expected`'s dtype.

    Raises its `AssertionError` (with torch's own message) when the values differ. `actual`
    is compared in `expected`'s dtype: a float64 answer to a float32 question is not wrong.
    """
    __tracebackhide__ = True
    dtype = expected.dtype if isinstance(expected, torch.Tensor) else torch.float64
    if (
        isinstance(actual, torch.Tensor)
        and isinstance(expected, torch.Tensor)
        and actual.dtype != expected.dtype
        and actual.dtype.is_floating_point
    ):
        actual = actual.to(expected.dtype)
    tolerance = resolve(kind, dtype, rtol, atol, steps)
    kwargs.setdefault("equal_nan", False)
    torch.testing.assert_close(actual, expected, rtol=tolerance.rtol, atol=tolerance.atol, **kwargs)


def is_close(
    actual: Any,
    expected: Any,
    kind: str = "values",
    steps: int = 1,
    rtol: float | None = None,
    atol: float | None = None,
) -> bool:
    """Whether `assert_close` would accept `actual`: for recognising a known wrong answer."""
    try:
        assert_close(actual, expected, kind, steps, rtol, atol)
    except (AssertionError, TypeError, ValueError, RuntimeError):
        return False
    return True
