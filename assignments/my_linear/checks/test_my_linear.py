"""Hidden checks for my_linear: MyLinear(nn.Module) with weights (in, out) and bias (out,)."""

from __future__ import annotations

import torch

from grader.checks import (
    Failure,
    check,
    expect_close,
    expect_shape,
    fmt_shape,
    hints,
    seeded_randn,
)
from grader.messages import say

IN, OUT = 3, 2
LAYER = f"MyLinear({IN}, {OUT})"


def _call(x: torch.Tensor, layer: str = LAYER) -> str:
    return f"{layer}(x) with x of shape {fmt_shape(tuple(x.shape))}"


def _matmul_hints() -> dict[str, str]:
    return {
        "cannot be multiplied": say("matmul_hint"),
        "must match the size": say("matmul_hint"),
        "must be a matrix": say("mm_3d_hint"),
        "2D": say("mm_3d_hint"),
    }


def _observe_forward(probe, x, **kwargs):
    with hints(_matmul_hints()):
        observed = probe(
            "forward",
            call=_call(x, kwargs.pop("layer", LAYER)),
            in_features=IN,
            out_features=OUT,
            x=x,
            **kwargs,
        )
    if "assign_problem" in observed:
        raise Failure(
            say("cannot_set", call=LAYER, problem=observed["assign_problem"]),
            say("weights_layout_help"),
        )
    return observed["output"]


@check(points=1, category="api")
def test_subclasses_module(probe):
    """MyLinear is a torch.nn.Module."""
    observed = probe("construct", call=LAYER, in_features=IN, out_features=OUT)
    if not observed["is_module"]:
        raise Failure(say("not_a_module", bases="?"), say("not_a_module_help"))


@check(points=1, category="api")
def test_parameters_registered(probe):
    """weights and bias are registered nn.Parameters that an optimizer can see."""
    observed = probe("construct", call=LAYER, in_features=IN, out_features=OUT)
    names = sorted(observed["parameters"])
    if names != ["bias", "weights"]:
        raise Failure(
            say("not_registered", layer=LAYER, found=names or "nothing"), say("not_registered_help")
        )
    if observed["optimizer_sees"] != 2:
        raise Failure(
            say("optimizer_blind", seen=observed["optimizer_sees"]), say("not_registered_help")
        )
    count = sum(int(torch.tensor(shape).prod()) for shape in observed["parameters"].values())
    if count != IN * OUT + OUT:
        raise Failure(
            say("param_count", actual=count, expected=IN * OUT + OUT), say("weights_layout_help")
        )


@check(points=1, category="api")
def test_bias_false_registers_no_bias(probe):
    """MyLinear(3, 2, bias=False) registers weights only, and its bias is None."""
    observed = probe(
        "construct",
        call=f"MyLinear({IN}, {OUT}, bias=False)",
        in_features=IN,
        out_features=OUT,
        bias=False,
    )
    names = sorted(observed["parameters"])
    if "bias" in names or observed["bias"]["kind"] not in ("none",):
        raise Failure(say("bias_false_registered", found=names), say("bias_false_help"))
    if names != ["weights"]:
        raise Failure(
            say(
                "not_registered",
                layer=f"MyLinear({IN}, {OUT}, bias=False)",
                found=names or "nothing",
            ),
            say("not_registered_help"),
        )


@check(points=1, category="shapes")
def test_parameter_shapes(probe):
    """weights has shape (in_features, out_features) and bias has shape (out_features,)."""
    observed = probe("construct", call=LAYER, in_features=IN, out_features=OUT)
    for name, expected in (("weights", (IN, OUT)), ("bias", (OUT,))):
        info = observed[name]
        if "shape" not in info:
            raise Failure(
                say("param_missing", name=name, kind=info["kind"], expected=fmt_shape(expected)),
                say("not_registered_help"),
            )
        if tuple(info["shape"]) != expected:
            help_key = "weights_layout_help" if name == "weights" else "bias_shape_help"
            raise Failure(
                say(
                    "param_shape",
                    name=name,
                    actual=fmt_shape(info["shape"]),
                    expected=fmt_shape(expected),
                ),
                say(help_key),
            )


@check(points=1, category="shapes")
def test_output_shape_1d_and_2d(probe):
    """forward maps (3,) to (2,) and a batch (4, 3) to (4, 2)."""
    for x_shape, expected in (((IN,), (OUT,)), ((4, IN), (4, OUT))):
        x = seeded_randn(*x_shape)
        output = _observe_forward(probe, x)
        expect_shape(output, expected, _call(x), hints={(*x_shape[:-1], IN): say("out_in_hint")})


@check(points=1, category="shapes", visibility="hidden")
def test_output_shape_3d(probe):
    """forward keeps any number of leading dimensions: (2, 5, 3) maps to (2, 5, 2)."""
    x = seeded_randn(2, 5, IN)
    output = _observe_forward(probe, x)
    expect_shape(output, (2, 5, OUT), _call(x), hints={(2, 5, IN): say("out_in_hint")})


@check(points=1, category="values")
def test_output_values(probe):
    """forward returns x @ weights + bias for weights and bias the check sets."""
    x, weights, bias = seeded_randn(4, IN), seeded_randn(IN, OUT), seeded_randn(OUT)
    output = _observe_forward(probe, x, weights=weights, bias=bias)
    expected = x @ weights + bias
    hint = ""
    if (
        isinstance(output, torch.Tensor)
        and output.shape == expected.shape
        and torch.allclose(output.float(), x @ weights, atol=1e-5)
    ):
        hint = say("bias_missing_hint")
    expect_close(output, expected, _call(x), hint=hint)


@check(points=0.5, category="values")
def test_output_values_without_bias(probe):
    """With bias=False, forward returns x @ weights."""
    x, weights = seeded_randn(4, IN), seeded_randn(IN, OUT)
    layer = f"MyLinear({IN}, {OUT}, bias=False)"
    output = _observe_forward(probe, x, weights=weights, use_bias=False, layer=layer)
    expect_close(output, x @ weights, _call(x, layer), hint=say("bias_false_forward_hint"))


@check(points=1.5, category="gradients")
def test_gradients_reach_parameters(probe):
    """After backward, weights.grad and bias.grad equal the analytic gradients."""
    x, weights, bias = seeded_randn(4, IN), seeded_randn(IN, OUT), seeded_randn(OUT)
    grad_output = seeded_randn(4, OUT)
    call = _call(x) + ", then output.backward(g)"
    with hints(_matmul_hints()):
        observed = probe(
            "backward",
            call=call,
            in_features=IN,
            out_features=OUT,
            x=x,
            weights=weights,
            bias=bias,
            grad_output=grad_output,
        )
    if "assign_problem" in observed:
        raise Failure(
            say("cannot_set", call=LAYER, problem=observed["assign_problem"]),
            say("weights_layout_help"),
        )
    if not observed["output_requires_grad"]:
        raise Failure(say("no_grad_output", call=_call(x)), say("grad_none_help", name="weights"))
    leaf_w = weights.clone().requires_grad_()
    leaf_b = bias.clone().requires_grad_()
    (x @ leaf_w + leaf_b).backward(grad_output)
    for name, expected in (("weights", leaf_w.grad), ("bias", leaf_b.grad)):
        actual = observed[f"{name}_grad"]
        if actual is None:
            raise Failure(say("grad_none", name=name), say("grad_none_help", name=name))
        expect_close(actual, expected, f"MyLinear.{name}.grad after {call}")


@check(points=1, category="convergence")
def test_sgd_fits_linear_regression(probe):
    """A short SGD run on a linear-regression task reaches a small loss."""
    inputs = seeded_randn(64, IN)
    true_w, true_b = seeded_randn(IN, OUT), seeded_randn(OUT)
    targets = inputs @ true_w + true_b + seeded_randn(64, OUT, scale=0.01)
    steps, limit = 300, 0.01
    observed = probe(
        "fit",
        call=f"training {LAYER} with torch.optim.SGD",
        inputs=inputs,
        targets=targets,
        lr=0.1,
        steps=steps,
    )
    weights, bias = observed["weights"], observed["bias"]
    if "value" not in weights or "value" not in bias:
        raise Failure(
            say("not_registered", layer=LAYER, found="weights/bias missing"),
            say("not_registered_help"),
        )
    try:
        predictions = inputs @ weights["value"] + bias["value"]
        loss = float(torch.nn.functional.mse_loss(predictions, targets))
    except RuntimeError:
        loss = float("inf")
    if not loss < limit:
        raise Failure(
            say("not_converged", steps=steps, loss=loss, limit=limit), say("not_converged_help")
        )
