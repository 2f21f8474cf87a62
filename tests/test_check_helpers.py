"""The helpers for check authors (grader/checks.py), called as a check would call them."""

from __future__ import annotations

import pytest
import torch

from grader.checks import (
    Failure,
    autograd_gradients,
    describe_difference,
    expect_close,
    expect_converges,
    expect_gradcheck,
    expect_gradient,
    expect_shape,
    kind_name,
    known_mistake,
)


def test_expect_shape_computes_hints_given_as_a_function_only_when_the_shape_is_wrong():
    asked = []

    def hints():
        asked.append(True)  # in a check, this is where a probe call of its own would go
        return {(4, 3): "are the weights (out, in)?"}

    expect_shape(torch.zeros(4, 2), (4, 2), "layer(x)", hints=hints)
    assert asked == []
    with pytest.raises(Failure) as raised:
        expect_shape(torch.zeros(4, 3), (4, 2), "layer(x)", hints=hints)
    assert asked == [True]
    assert raised.value.help == "are the weights (out, in)?"


def test_expect_shape_names_the_call_and_the_known_mistake():
    with pytest.raises(Failure) as failure:
        expect_shape(torch.zeros(4, 3), (4, 2), "layer(x)", hints={(4, 3): "are the weights?"})
    assert failure.value.rationale == "layer(x) returned shape (4, 3); expected (4, 2)"
    assert failure.value.help == "are the weights?"


def test_expect_close_reports_the_worst_value_and_keeps_the_hint_on_a_wrong_shape():
    expected = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    expect_close(expected + 1e-7, expected, "f(x)")
    with pytest.raises(Failure) as failure:
        expect_close(torch.tensor([[1.0, 2.0], [3.0, 9.0]]), expected, "f(x)", hint="h")
    assert failure.value.rationale == (
        "f(x) returned the right shape but wrong values. 1 of 4 values differ; the worst is at "
        "index (1, 1): got 9, expected 4."
    )
    assert failure.value.help == "h"
    with pytest.raises(Failure) as failure:
        expect_close(torch.zeros(2, 1), torch.zeros(1, 2), "f(x)", hint="transposed?")
    assert "returned shape (2, 1); expected (1, 2)" in failure.value.rationale
    assert failure.value.help == "transposed?"


def test_describe_difference_counts_nan_as_different():
    text = describe_difference(torch.tensor([1.0, float("nan")]), torch.tensor([1.0, 2.0]))
    assert text == "1 of 2 values differ; the worst is at index (1,): got nan, expected 2."


def test_known_mistake_returns_the_matching_hint_only():
    expected = torch.tensor([1.0, -2.0])
    mistakes = {"sign": -expected, "sum": 8 * expected}
    assert known_mistake(-expected, mistakes) == "sign"
    assert known_mistake(expected * 8, mistakes) == "sum"
    assert known_mistake(expected + 1, mistakes) == ""
    assert known_mistake(None, mistakes) == ""


def test_autograd_gradients_match_the_analytic_ones_in_double_precision():
    x = torch.randn(4, 3)
    w, b = torch.randn(3, 2), torch.randn(2)
    g = torch.randn(4, 2)
    grads = autograd_gradients(
        lambda w, b, x: x @ w + b, wrt={"w": w, "b": b}, given={"x": x}, grad_output=g
    )
    assert grads["w"].dtype == torch.float32
    torch.testing.assert_close(grads["w"], x.T @ g)
    torch.testing.assert_close(grads["b"], g.sum(0))


def test_expect_gradient_names_a_known_mistake():
    expected = torch.tensor([[0.5], [-0.25]])
    expect_gradient(expected.clone(), expected, "dw")
    with pytest.raises(Failure) as failure:
        expect_gradient(-expected, expected, "dw", mistakes={"flip the sign": -expected})
    assert failure.value.help == "flip the sign"
    with pytest.raises(Failure, match="dw is None: no gradient reached it"):
        expect_gradient(None, expected, "dw")


class _WrongBackward(torch.autograd.Function):
    """x**2 with a backward that forgets the factor 2: what gradcheck exists to catch."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x


def test_expect_gradcheck_passes_a_right_function_and_fails_a_wrong_backward():
    x = torch.randn(3)
    expect_gradcheck(lambda x: (x**2).sum(), x, call="x**2")
    with pytest.raises(Failure) as failure:
        expect_gradcheck(_WrongBackward.apply, x, call="square(x)", hint="factor 2")
    assert failure.value.rationale.startswith(
        "square(x): the autograd gradient disagrees with finite differences"
    )
    assert failure.value.help == "factor 2"


@pytest.mark.parametrize(
    ("losses", "kwargs", "message"),
    [
        ([], {}, "train reported no loss values"),
        ([1.0, float("nan")], {}, "train: the loss at step 2 is nan, not a finite number"),
        ([1.0, None], {}, "train: the loss at step 2 is None, not a finite number"),
        ([1.0, 1.5], {}, "train: the loss did not fall: 1 at the start, 1.5 at the end"),
        ([1.0, 0.5], {"below": 0.1}, "train: the final loss is 0.5; expected below 0.1"),
    ],
)
def test_expect_converges_says_what_went_wrong(losses, kwargs, message):
    with pytest.raises(Failure) as failure:
        expect_converges(losses, "train", hint="h", **kwargs)
    assert failure.value.rationale == message
    assert failure.value.help == "h"


def test_expect_converges_accepts_a_falling_trajectory():
    expect_converges([1.0, 0.4, 0.05], "train", below=0.1)
    expect_converges([1.0, 1.0], "train", falling=False)


def test_kind_name_translates_probe_kinds_and_keeps_unknown_ones():
    assert kind_name("none") == "None"
    assert kind_name("parameter") == "an nn.Parameter"
    assert kind_name("something new") == "something new"
