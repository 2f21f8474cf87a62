"""Hidden checks for my_linear: MyLinear(nn.Module) with weights (in, out) and bias (out,)."""

from __future__ import annotations

from contextlib import contextmanager

import torch

from grader.checks import (
    Failure,
    autograd_gradients,
    check,
    expect_close,
    expect_gradient,
    expect_shape,
    fmt_shape,
    hints,
    kind_name,
    known_mistake,
    seeded_randn,
)
from grader.messages import say

IN, OUT = 3, 2
LAYER = f"MyLinear({IN}, {OUT})"
LAYER_NO_BIAS = f"MyLinear({IN}, {OUT}, bias=False)"
PARAMETER_SHAPES = {"weights": (IN, OUT), "bias": (OUT,)}


def _call(x: torch.Tensor, layer: str = LAYER) -> str:
    return say("call_forward", layer=layer, shape=fmt_shape(tuple(x.shape)))


@contextmanager
def _known_errors():
    """Errors a student's MyLinear commonly raises, mapped to what to fix."""
    with hints(
        {
            "before Module.__init__() call": say("super_init_hint"),
            "cannot be multiplied": say("matmul_hint"),
            "must match the size": say("matmul_hint"),
            "must be a matrix": say("mm_3d_hint"),
            "2D": say("mm_3d_hint"),
        }
    ):
        yield


def _construct(probe, layer: str = LAYER, **kwargs):
    with _known_errors():
        return probe("construct", call=layer, in_features=IN, out_features=OUT, **kwargs)


def _cannot_set(problem: dict) -> Failure:
    """The probe could not load the check's weights or bias into the student's layer."""
    name = problem["name"]
    if "shape" in problem:
        what = say("has_shape", name=name, actual=fmt_shape(problem["shape"]))
    else:
        what = say("is_kind", name=name, kind=kind_name(problem["kind"]))
    help_key = "bias_shape_help" if name == "bias" else "weights_layout_help"
    return Failure(say("cannot_set", call=LAYER, problem=what), say(help_key))


def _observe_forward(probe, x, layer: str = LAYER, **kwargs):
    with _known_errors():
        observed = probe(
            "forward", call=_call(x, layer), in_features=IN, out_features=OUT, x=x, **kwargs
        )
    if "assign_problem" in observed:
        raise _cannot_set(observed["assign_problem"])
    return observed["output"]


def _not_registered(layer: str, names: list[str], expected: list[str]) -> Failure:
    missing = [n for n in expected if n not in names] or expected
    return Failure(
        say(
            "not_registered",
            layer=layer,
            found=names or say("nothing"),
            expected=" + ".join(expected),
        ),
        say("not_registered_help", name=missing[0]),
    )


def _expect_parameter(info: dict, name: str) -> None:
    """`info` (from `tensor_info`) describes a tensor of the contract's shape for `name`."""
    expected = fmt_shape(PARAMETER_SHAPES[name])
    if "shape" not in info:
        raise Failure(
            say("param_missing", name=name, kind=kind_name(info["kind"]), expected=expected),
            say("not_registered_help", name=name),
        )
    if tuple(info["shape"]) != PARAMETER_SHAPES[name]:
        help_key = "weights_layout_help" if name == "weights" else "bias_shape_help"
        raise Failure(
            say("param_shape", name=name, actual=fmt_shape(info["shape"]), expected=expected),
            say(help_key),
        )


@check(points=1, category="api")
def test_subclasses_module(probe):
    """MyLinear is a torch.nn.Module."""
    observed = _construct(probe)
    if not observed["is_module"]:
        raise Failure(say("not_a_module", bases="?"), say("not_a_module_help"))


@check(points=1, category="api")
def test_parameters_registered(probe):
    """weights and bias are registered nn.Parameters that an optimizer can see."""
    observed = _construct(probe)
    names = sorted(observed["parameters"])
    if names != ["bias", "weights"]:
        raise _not_registered(LAYER, names, ["weights", "bias"])
    if observed["optimizer_sees"] != 2:
        raise Failure(
            say("optimizer_blind", seen=observed["optimizer_sees"]),
            say("not_registered_help", name="weights"),
        )
    count = sum(int(torch.tensor(shape).prod()) for shape in observed["parameters"].values())
    if count != IN * OUT + OUT:
        raise Failure(
            say("param_count", actual=count, expected=IN * OUT + OUT), say("weights_layout_help")
        )


@check(points=1, category="api")
def test_bias_false_registers_no_bias(probe):
    """MyLinear(3, 2, bias=False) registers weights only, and its bias is None."""
    observed = _construct(probe, LAYER_NO_BIAS, bias=False)
    names = sorted(observed["parameters"])
    if "bias" in names or observed["bias"]["kind"] not in ("none",):
        raise Failure(say("bias_false_registered", found=names), say("bias_false_help"))
    if names != ["weights"]:
        raise _not_registered(LAYER_NO_BIAS, names, ["weights"])


@check(points=1, category="shapes")
def test_parameter_shapes(probe):
    """weights has shape (in_features, out_features) and bias has shape (out_features,)."""
    observed = _construct(probe)
    for name in PARAMETER_SHAPES:
        _expect_parameter(observed[name], name)


@check(points=1, category="shapes")
def test_output_shape_1d_and_2d(probe):
    """forward maps (3,) to (2,) and a batch (4, 3) to (4, 2)."""
    for x_shape, expected in (((IN,), (OUT,)), ((4, IN), (4, OUT))):
        x = seeded_randn(*x_shape)
        output = _observe_forward(probe, x)
        known = {(*x_shape[:-1], IN): say("out_in_hint"), (1, OUT): say("bias_shape_help")}
        expect_shape(output, expected, _call(x), hints=known)


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
    hint = known_mistake(output, {say("bias_missing_hint"): x @ weights}, atol=1e-5)
    expect_close(output, expected, _call(x), hint=hint)


@check(points=0.5, category="values")
def test_output_values_without_bias(probe):
    """With bias=False, forward returns x @ weights."""
    x, weights = seeded_randn(4, IN), seeded_randn(IN, OUT)
    output = _observe_forward(probe, x, LAYER_NO_BIAS, weights=weights, use_bias=False)
    expect_close(output, x @ weights, _call(x, LAYER_NO_BIAS), hint=say("bias_false_forward_hint"))


@check(points=1.5, category="gradients")
def test_gradients_reach_parameters(probe):
    """After backward, weights.grad and bias.grad equal the analytic gradients."""
    x, weights, bias = seeded_randn(4, IN), seeded_randn(IN, OUT), seeded_randn(OUT)
    grad_output = seeded_randn(4, OUT)
    call = say("call_backward", forward=_call(x))
    with _known_errors():
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
        raise _cannot_set(observed["assign_problem"])
    if not observed["output_requires_grad"]:
        raise Failure(say("no_grad_output", call=_call(x)), say("grad_none_help", name="weights"))
    expected = autograd_gradients(
        lambda weights, bias, x: x @ weights + bias,
        wrt={"weights": weights, "bias": bias},
        given={"x": x},
        grad_output=grad_output,
    )
    for name in ("weights", "bias"):
        actual = observed[f"{name}_grad"]
        if actual is None:
            raise Failure(say("grad_none", name=name), say("grad_none_help", name=name))
        expect_gradient(actual, expected[name], say("grad_after", name=name, call=call))


@check(points=1, category="convergence")
def test_sgd_fits_linear_regression(probe):
    """A short SGD run on a linear-regression task reaches a small loss."""
    inputs = seeded_randn(64, IN)
    true_w, true_b = seeded_randn(IN, OUT), seeded_randn(OUT)
    targets = inputs @ true_w + true_b + seeded_randn(64, OUT, scale=0.01)
    steps, limit = 300, 0.01
    with _known_errors():
        observed = probe(
            "fit",
            call=say("call_fit", layer=LAYER),
            inputs=inputs,
            targets=targets,
            lr=0.1,
            steps=steps,
        )
    weights, bias = observed["weights"], observed["bias"]
    try:
        loss = float(
            torch.nn.functional.mse_loss(inputs @ weights["value"] + bias["value"], targets)
        )
    except (KeyError, RuntimeError):
        for name in PARAMETER_SHAPES:
            _expect_parameter(observed[name], name)
        loss = float("inf")
    if not loss < limit:
        raise Failure(
            say("not_converged", steps=steps, loss=loss, limit=limit), say("not_converged_help")
        )
