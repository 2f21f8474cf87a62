"""Hidden checks for my_linear: MyLinear(nn.Module) with weights (in, out) and bias (out,)."""

from __future__ import annotations

from contextlib import contextmanager
from functools import partial

import torch

from grader.checks import (
    Failure,
    autograd_gradients,
    check,
    expect_close,
    expect_gradient,
    expect_shape,
    fmt_shape,
    kind_name,
    known_mistake,
    seeded_randn,
)
from grader.feedback import near_miss
from grader.messages import say
from grader.tolerance import is_close

IN, OUT = 3, 2
LAYER = f"MyLinear({IN}, {OUT})"
LAYER_NO_BIAS = f"MyLinear({IN}, {OUT}, bias=False)"
PARAMETER_SHAPES = {"weights": (IN, OUT), "bias": (OUT,)}


def _call(x: torch.Tensor, layer: str = LAYER) -> str:
    return say("call_forward", layer=layer, shape=fmt_shape(tuple(x.shape)))


# Errors a student's MyLinear commonly raises, mapped to what to fix in this exercise. These
# win over the judge's generic advice (dtype, device and others stay with the judge's).
KNOWN_ERRORS = {
    "before Module.__init__() call": "super_init_hint",
    'missing the required "forward" function': "forward_missing_hint",
    "cannot be multiplied": "matmul_hint",
    "must be a matrix": "mm_3d_hint",
    "2D": "mm_3d_hint",
    "unsupported operand type(s) for +: 'Tensor' and 'NoneType'": "bias_none_added_hint",
    "unexpected keyword argument 'bias'": "bias_keyword_hint",
    "Boolean value of Tensor with more than one value is ambiguous": "bias_truth_hint",
    "einsum(): the number of subscripts in the equation": "einsum_dims_hint",
    "'tuple' object has no attribute": "tuple_output_hint",
}


def close_names(name: str, candidates: list[str]) -> list[str]:
    """The one name in `candidates` that looks like a slip for `name` (grader.feedback's rule)."""
    miss = near_miss(name, candidates)
    return [miss.found] if miss else []


@contextmanager
def _known_errors(probe=None):
    """Map a failure to what to fix: by its symptom, and with `probe` from what the student's
    file defines (a `forward` written outside the class, a size error the parameters' shapes
    explain)."""
    try:
        yield
    except Failure as failure:
        mine = next(
            (key for symptom, key in KNOWN_ERRORS.items() if symptom in failure.rationale), ""
        )
        if mine:
            failure.help = say(mine)
        if probe is not None:
            better = _explain(probe, failure.rationale)
            if better:
                failure.help = better
        raise


def _explain(probe, message: str) -> str:
    if "unexpected keyword argument" in message or "positional argument" in message:
        return _signature_hint(probe)
    if 'missing the required "forward" function' in message:
        defined = probe("names", call="names in my_linear.py")
        return say("forward_outside_hint") if "forward" in defined["functions"] else ""
    if "backward through the graph a second time" in message:
        try:
            derived = _construct(probe).get("derived", [])
        except Failure:
            return ""
        return say("derived_parameter_help", name=derived[0]) if derived else ""
    if "must match the size" in message:
        try:
            observed = probe("construct", call=LAYER, in_features=IN, out_features=OUT)
        except Failure:
            return ""
        if observed["bias"].get("shape") not in (None, [OUT]):
            return _bias_shape_help(observed["bias"]["shape"])
        if observed["weights"].get("shape") == [IN, OUT]:
            return say("elementwise_hint")
    return ""


def _bias_shape_help(shape) -> str:
    """The help for a bias of the wrong shape, naming the two shapes students really write."""
    if list(shape or []) == [1, OUT]:
        return say("bias_2d_help")
    if list(shape or []) == [IN]:
        return say("bias_in_help")
    return say("bias_shape_help")


def _construct(probe, layer: str = LAYER, **kwargs):
    with _known_errors(probe):
        return probe("construct", call=layer, in_features=IN, out_features=OUT, **kwargs)


def _register_help(observed: dict, name: str) -> str:
    """How to make `name` a registered parameter: wrap it in nn.Parameter, or, when it was
    wrapped and then computed with (`nn.Parameter(...) / 2` has a grad_fn), wrap last."""
    if name in observed.get("derived", []):
        return say("derived_parameter_help", name=name)
    return say("not_registered_help", name=name)


def _missing_help(probe, name: str) -> str:
    """`name` is not on the layer: a near miss among its attributes, or how to register it."""
    try:
        observed = _construct(probe)
    except Failure:
        observed = {"attributes": []}
    near = close_names(name, observed["attributes"])
    if near:
        return say("name_near_miss", found=near[0], name=name)
    return _register_help(observed, name)


def _cannot_set(probe, problem: dict) -> Failure:
    """The probe could not load the check's weights or bias into the student's layer."""
    name = problem["name"]
    if "error" in problem:
        return Failure(say("cannot_set", call=LAYER, problem=f"{name}: {problem['error']}"))
    if "shape" in problem:
        what = say("has_shape", name=name, actual=fmt_shape(problem["shape"]))
        help = _bias_shape_help(problem["shape"]) if name == "bias" else say("weights_layout_help")
    else:
        what = say("is_kind", name=name, kind=kind_name(problem["kind"]))
        help = _missing_help(probe, name)
        if name == "bias" and problem["kind"] == "none":
            help = say("bias_none_help")
    return Failure(say("cannot_set", call=LAYER, problem=what), help)


def _observe_forward(probe, x, layer: str = LAYER, out_features: int = OUT, **kwargs):
    with _known_errors(probe):
        observed = probe(
            "forward",
            call=_call(x, layer),
            in_features=IN,
            out_features=out_features,
            x=x,
            **kwargs,
        )
    if "assign_problem" in observed:
        raise _cannot_set(probe, observed["assign_problem"])
    if observed["output"] is None:
        raise Failure(say("returned_none", call=_call(x, layer)), say("forgot_return_hint"))
    if isinstance(observed["output"], (tuple, list)):
        kind = type(observed["output"]).__name__
        raise Failure(say("not_a_tensor", call=_call(x, layer), kind=kind), _sequence_help(kind))
    return observed["output"]


def _sequence_help(kind: str) -> str:
    """forward returned a tuple (`return y,`: a stray comma) or a list instead of the tensor."""
    return say("tuple_output_hint") if kind == "tuple" else say("list_output_hint")


def _not_registered(observed: dict, layer: str, names: list[str], expected: list[str]) -> Failure:
    missing = [n for n in expected if n not in names] or expected
    message = say(
        "not_registered", layer=layer, found=names or say("nothing"), expected=" + ".join(expected)
    )
    if not observed["is_module"]:
        return Failure(message, say("not_a_module_help"))
    for name in missing:
        near = close_names(name, [n for n in observed["attributes"] if n not in expected])
        if near:
            return Failure(message, say("name_near_miss", found=near[0], name=name))
    if "bias" in missing and observed["bias"]["kind"] == "none" and layer == LAYER:
        return Failure(message, say("bias_none_help"))
    return Failure(message, _register_help(observed, missing[0]))


def _expect_parameter(observed: dict, name: str) -> None:
    """`observed[name]` (from `tensor_info`) is a tensor of the contract's shape for `name`."""
    info = observed[name]
    expected = fmt_shape(PARAMETER_SHAPES[name])
    if "shape" not in info:
        near = close_names(name, observed.get("attributes", []))
        help = _register_help(observed, name)
        if near:
            help = say("name_near_miss", found=near[0], name=name)
        elif name == "bias" and info["kind"] == "none":
            help = say("bias_none_help")
        raise Failure(
            say("param_missing", name=name, kind=kind_name(info["kind"]), expected=expected), help
        )
    if tuple(info["shape"]) != PARAMETER_SHAPES[name]:
        help = say("weights_layout_help") if name == "weights" else _bias_shape_help(info["shape"])
        raise Failure(
            say("param_shape", name=name, actual=fmt_shape(info["shape"]), expected=expected), help
        )


@check(points=0.5, category="api", covers=["class-module"])
def test_subclasses_module(probe):
    """MyLinear is a torch.nn.Module."""
    observed = _construct(probe)
    if not observed["is_module"]:
        bases = ", ".join(observed.get("bases", [])) or "?"
        raise Failure(say("not_a_module", bases=bases), say("not_a_module_help"))


@check(points=0.5, category="api", covers=["init-signature"])
def test_init_signature(probe):
    """MyLinear(3, 2) has a bias; MyLinear(3, 2, False) and MyLinear(3, 2, bias=False) do not."""
    with _known_errors(probe):
        observed = probe(
            "flags", call=f"{LAYER}, MyLinear({IN}, {OUT}, False)", in_features=IN, out_features=OUT
        )
    if observed["default"] != observed["keyword_true"]:
        raise Failure(
            say("default_no_bias", layer=LAYER, found=kind_name(observed["default"])),
            _signature_hint(probe) or say("bias_default_hint"),
        )
    if observed["positional_false"] != observed["keyword_false"]:
        raise Failure(
            say("positional_false_bias", layer=f"MyLinear({IN}, {OUT}, False)"),
            _signature_hint(probe) or say("bias_positional_hint"),
        )


def _signature_hint(probe) -> str:
    """Name a renamed or reordered constructor argument, from the student's signature."""
    names = probe("names", call="inspect.signature(MyLinear.__init__)")["init_parameters"]
    expected = ["in_features", "out_features", "bias"]
    if names is None or names[:3] == expected:
        return ""
    return say("init_signature_hint", actual=", ".join(names), expected=", ".join(expected))


@check(points=0.5, category="api", covers=["stores-sizes"])
def test_stores_sizes(probe):
    """MyLinear(3, 2) stores in_features = 3 and out_features = 2."""
    observed = _construct(probe)
    for name, value in (("in_features", IN), ("out_features", OUT)):
        actual = observed[name]
        if actual == value and type(actual) is int:
            continue
        if actual is None:
            near = close_names(name, observed["attributes"])
            help = say("name_near_miss", found=near[0], name=name) if near else say("sizes_help")
            raise Failure(say("size_missing", layer=LAYER, name=name), help)
        swapped = {IN: OUT, OUT: IN}[value] == actual
        raise Failure(
            say("size_wrong", layer=LAYER, name=name, actual=repr(actual), expected=value),
            say("sizes_swapped_help") if swapped else say("sizes_help"),
        )


@check(points=1, category="api", covers=["weights-parameter", "bias-parameter"])
def test_parameters_registered(probe):
    """weights and bias are registered nn.Parameters that an optimizer can see."""
    observed = _construct(probe)
    names = sorted(observed["parameters"])
    if names != ["bias", "weights"]:
        raise _not_registered(observed, LAYER, names, ["weights", "bias"])
    if observed["optimizer_sees"] != 2:
        raise Failure(
            say("optimizer_blind", seen=observed["optimizer_sees"]),
            _register_help(observed, "weights"),
        )
    count = sum(int(torch.tensor(shape).prod()) for shape in observed["parameters"].values())
    if count != IN * OUT + OUT:
        weights_ok = observed["parameters"].get("weights") == [IN, OUT]
        help = _bias_shape_help(observed["parameters"].get("bias")) if weights_ok else ""
        raise Failure(
            say("param_count", actual=count, expected=IN * OUT + OUT),
            help or say("weights_layout_help"),
        )


@check(points=0.5, category="api", covers=["bias-false-none"])
def test_bias_false_registers_no_bias(probe):
    """MyLinear(3, 2, bias=False) registers weights only, and its bias is None."""
    observed = _construct(probe, LAYER_NO_BIAS, bias=False)
    names = sorted(observed["parameters"])
    if "bias" in names:
        raise Failure(say("bias_false_registered", found=names), say("bias_false_help"))
    if observed["bias"]["kind"] != "none":
        kind = kind_name(observed["bias"]["kind"])
        raise Failure(
            say("bias_false_not_none", layer=LAYER_NO_BIAS, kind=kind),
            say("bias_false_tensor_help"),
        )
    if names != ["weights"]:
        raise _not_registered(observed, LAYER_NO_BIAS, names, ["weights"])


@check(points=1, category="shapes", covers=["weights-shape", "bias-shape"])
def test_parameter_shapes(probe):
    """weights has shape (in_features, out_features) and bias has shape (out_features,)."""
    observed = _construct(probe)
    for name in PARAMETER_SHAPES:
        _expect_parameter(observed, name)


def _shape_hints(probe, x_shape: tuple[int, ...]) -> dict[tuple[int, ...], str]:
    """The wrong output shapes this input could give, each with the mistake that gives it."""
    leading = x_shape[:-1]
    flat = int(torch.tensor(leading).prod()) if leading else 1
    known = {
        (*leading, IN): say("out_in_hint"),
        (flat, OUT): say("leading_dims_hint"),
        (1, *leading, OUT): say("bias_2d_help"),
    }
    if len(leading) == 1:
        known[(1, OUT)] = say("bias_2d_help")
    if len(leading) == 0:
        observed = _construct(probe)
        if observed["bias"].get("shape") == [OUT]:
            known[(1, OUT)] = say("leading_dims_hint")
    return known


@check(points=1, category="shapes", covers=["forward-shapes"])
def test_output_shape_1d_and_2d(probe):
    """forward maps (3,) to (2,) and a batch (4, 3) to (4, 2)."""
    for x_shape, expected in (((IN,), (OUT,)), ((4, IN), (4, OUT))):
        x = seeded_randn(*x_shape)
        output = _observe_forward(probe, x)
        expect_shape(output, expected, _call(x), hints=partial(_shape_hints, probe, x_shape))


@check(points=0.5, category="shapes", visibility="hidden", covers=["forward-shapes"])
def test_output_shape_3d(probe):
    """forward keeps any number of leading dimensions: (2, 5, 3) maps to (2, 5, 2)."""
    x = seeded_randn(2, 5, IN)
    output = _observe_forward(probe, x)
    expect_shape(output, (2, 5, OUT), _call(x), hints=partial(_shape_hints, probe, (2, 5, IN)))


LAYER_ONE_OUT = f"MyLinear({IN}, 1)"


@check(points=0.5, category="shapes", covers=["forward-shapes"])
def test_output_shape_size_one(probe):
    """forward keeps size-1 dims: (1, 3) gives (1, 2), and MyLinear(3, 1) maps (4, 3) to (4, 1)."""
    for x_shape, layer, out in (((1, IN), LAYER, OUT), ((4, IN), LAYER_ONE_OUT, 1)):
        x = seeded_randn(*x_shape)
        output = _observe_forward(probe, x, layer, out_features=out)
        expected = (*x_shape[:-1], out)
        squeezed = tuple(size for size in expected if size != 1)
        hints = {squeezed: say("squeeze_hint", actual=fmt_shape(squeezed))}
        if out == OUT:
            hints = {**_shape_hints(probe, x_shape), **hints}
        expect_shape(output, expected, _call(x, layer), hints=hints)


@check(points=0.5, category="values", covers=["forward-values"])
def test_output_values(probe):
    """forward returns x @ weights + bias for weights and bias the check sets."""
    x, weights, bias = seeded_randn(4, IN), seeded_randn(IN, OUT), seeded_randn(OUT)
    output = _observe_forward(probe, x, weights=weights, bias=bias)
    expected = x @ weights + bias
    mistakes = {
        say("bias_missing_hint"): x @ weights,
        say("bias_sign_hint"): x @ weights - bias,
        say("activation_hint", name="relu"): torch.relu(expected),
        say("activation_hint", name="sigmoid"): torch.sigmoid(expected),
        say("activation_hint", name="tanh"): torch.tanh(expected),
    }
    hint = known_mistake(output, mistakes, atol=1e-5)
    expect_close(output, expected, _call(x), hint=hint)


@check(points=0.5, category="values", covers=["forward-values"])
def test_output_values_1d_and_3d(probe):
    """forward returns x @ weights + bias for one sample (3,) and for a batch (2, 5, 3) too."""
    weights, bias = seeded_randn(IN, OUT), seeded_randn(OUT)
    observed = []
    for x in (seeded_randn(IN), seeded_randn(2, 5, IN)):
        output = _observe_forward(probe, x, weights=weights, bias=bias)
        expected = x @ weights + bias
        no_bias = isinstance(output, torch.Tensor) and is_close(output, x @ weights)
        observed.append((x, output, expected, no_bias and not is_close(expected, x @ weights)))
    without_bias = [fmt_shape(tuple(x.shape)) for x, *_, no_bias in observed if no_bias]
    for x, output, expected, no_bias in observed:
        hint = ""
        if no_bias:
            # Without the bias for every input here: the plain hint; for some shapes: name them.
            hint = (
                say("bias_missing_hint")
                if len(without_bias) == len(observed)
                else say("bias_missing_shape_hint", shape=without_bias[0])
            )
        expect_close(output, expected, _call(x), hint=hint)


@check(points=0.5, category="values", covers=["forward-no-bias"])
def test_output_values_without_bias(probe):
    """With bias=False, forward returns x @ weights."""
    x, weights = seeded_randn(4, IN), seeded_randn(IN, OUT)
    output = _observe_forward(probe, x, LAYER_NO_BIAS, weights=weights, use_bias=False)
    mistakes = {
        say("activation_hint", name=name): function(x @ weights)
        for name, function in (
            ("relu", torch.relu),
            ("sigmoid", torch.sigmoid),
            ("tanh", torch.tanh),
        )
    }
    hint = known_mistake(output, mistakes, atol=1e-5)
    expect_close(output, x @ weights, _call(x, LAYER_NO_BIAS), hint=hint)


@check(points=1.5, category="gradients", covers=["gradients-flow"])
def test_gradients_reach_parameters(probe):
    """After backward, weights.grad and bias.grad equal the analytic gradients."""
    x, weights, bias = seeded_randn(4, IN), seeded_randn(IN, OUT), seeded_randn(OUT)
    grad_output = seeded_randn(4, OUT)
    call = say("call_backward", forward=_call(x))
    with _known_errors(probe):
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
        raise _cannot_set(probe, observed["assign_problem"])
    if observed.get("output_is_none"):
        raise Failure(say("returned_none", call=_call(x)), say("forgot_return_hint"))
    if "output_kind" in observed:
        kind = observed["output_kind"]
        help = _sequence_help(kind) if kind in ("tuple", "list") else ""
        raise Failure(say("not_a_tensor", call=_call(x), kind=kind), help)
    if not observed["output_requires_grad"]:
        output = observed.get("output")
        detached = (
            observed.get("trainable") == ["bias", "weights"]
            and isinstance(output, torch.Tensor)
            and output.shape == (4, OUT)
            and is_close(output, x @ weights + bias)
        )
        help = say("output_detached_help") if detached else say("no_grad_output_help")
        raise Failure(say("no_grad_output", call=_call(x)), help)
    expected = autograd_gradients(
        lambda weights, bias, x: x @ weights + bias,
        wrt={"weights": weights, "bias": bias},
        given={"x": x},
        grad_output=grad_output,
    )
    for name in ("weights", "bias"):
        actual = observed[f"{name}_grad"]
        if actual is None:
            raise Failure(
                say("grad_none", name=name), _no_grad_help(probe, observed, name, x, weights, bias)
            )
        expect_gradient(actual, expected[name], say("grad_after", name=name, call=call))


def _no_grad_help(probe, observed, name, x, weights, bias) -> str:
    """Why `name` got no gradient: not registered, frozen, used detached, or not used at all."""
    if name not in observed.get("registered", []):
        return _register_help(_construct(probe), name)
    if name in _construct(probe).get("frozen", []):
        return say("frozen_help", name=name)
    output = observed.get("output")
    if isinstance(output, torch.Tensor) and is_close(output, x @ weights + bias):
        return say("detached_help", name=name)
    return say("bias_missing_hint") if name == "bias" else say("weights_unused_help")


def _trained_loss(observed: dict, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """The judge's mean squared error of the trained weights and bias on (inputs, targets).

    The contract leaves the parameters' dtype to the student (any-init), so the loss is
    computed in float64, which holds every float dtype exactly. Parameters missing, or of
    shapes that cannot make `inputs @ weights + bias`, fail with what is wrong with them;
    any other error here is the judge's own and is left to the engine to report as such.
    """
    weights, bias = observed["weights"], observed["bias"]
    if "value" not in weights or "value" not in bias:
        for name in PARAMETER_SHAPES:
            _expect_parameter(observed, name)
    w, b = weights["value"].double(), bias["value"].double()
    try:
        prediction = inputs.double() @ w + b
    except RuntimeError:
        for name in PARAMETER_SHAPES:
            _expect_parameter(observed, name)
        raise
    return float(torch.nn.functional.mse_loss(prediction, targets.double()))


@check(points=1, category="convergence", covers=["gradients-flow", "forward-values"])
def test_sgd_fits_linear_regression(probe):
    """A short SGD run on a linear-regression task reaches a small loss."""
    inputs = seeded_randn(64, IN)
    true_w, true_b = seeded_randn(IN, OUT), seeded_randn(OUT)
    targets = inputs @ true_w + true_b + seeded_randn(64, OUT, scale=0.01)
    steps, limit = 300, 0.01
    with _known_errors(probe):
        observed = probe(
            "fit",
            call=say("call_fit", layer=LAYER),
            inputs=inputs,
            targets=targets,
            lr=0.1,
            steps=steps,
        )
    loss = _trained_loss(observed, inputs, targets)
    if not loss < limit:
        raise Failure(
            say("not_converged", steps=steps, loss=loss, limit=limit), say("not_converged_help")
        )
