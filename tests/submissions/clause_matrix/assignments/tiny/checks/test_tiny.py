"""Checks of the clause-matrix fixture exercise."""

import torch

from grader.checks import Failure, check, expect_close, expect_tensor, seeded_randn
from grader.feedback import scale_hint


@check(points=1, category="api", covers=["defines-double"])
def test_defines(probe):
    """tiny.py defines double(x), which returns a tensor."""
    call = "double(torch.ones(2))"
    expect_tensor(probe("call_double", call=call, x=torch.ones(2))["output"], call)


@check(points=2, category="values", covers=["returns-2x"])
def test_values(probe):
    """double(x) returns 2x."""
    x = seeded_randn(6) + 0.5
    out = probe("call_double", call="double(x)", x=x)["output"]
    expected = 2 * x
    hint = scale_hint(out, expected, {"-1": -1.0, "1/2": 0.5})
    expect_close(out, expected, "double(x)", hint=hint)


@check(points=1, category="values", covers=["keeps-dtype"])
def test_dtype(probe):
    """double(x) keeps the dtype of x."""
    out = probe("call_double", call="double(x)", x=torch.ones(3))["output"]
    out = expect_tensor(out, "double(x)")
    if out.dtype != torch.float32:
        raise Failure(
            f"double(x) returned {out.dtype}; expected torch.float32",
            "Keep float32: do not convert to float64.",
        )
