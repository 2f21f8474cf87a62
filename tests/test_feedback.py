"""Feedback helpers: near misses, scale factors, exceptions and call logs, in en and ko.

Exceptions are produced by running the real torch code a student would write, so a torch
upgrade that rewords an error shows up here.
"""

from __future__ import annotations

import pytest
import torch

from grader import feedback, messages
from grader.sandbox import probing


@pytest.fixture(autouse=True)
def english():
    messages.set_language("en")
    yield
    messages.set_language("en")


def test_near_miss_kinds():
    assert feedback.near_miss("MyLinear", ["MyLiner", "torch"]) == feedback.NearMiss(
        "MyLinear", "MyLiner", "typo"
    )
    assert feedback.near_miss("MyLinear", ["Mylinear"]).reason == "case"
    assert feedback.near_miss("weights", ["weight", "bias"]).reason == "plural"
    assert feedback.near_miss("zero_grad", ["zerograd"]).reason == "underscore"
    assert feedback.near_miss("LR", ["lr"]).reason == "case"
    # Far names, and ties between two equally close names, say nothing.
    assert feedback.near_miss("MyLinear", ["Dense", "torch", "nn"]) is None
    assert feedback.near_miss("w", ["a", "b"]) is None
    assert feedback.near_miss("grads", ["grad_a", "grad_b"]) is None
    assert feedback.near_miss("MyLinear", ["__MyLinear__"]) is None


def test_near_miss_messages_en_and_ko():
    text = feedback.near_miss_help("MyLinear", ["MyLiner", "nn"], file="my_linear.py")
    assert text == "my_linear.py defines `MyLiner`, not `MyLinear`: a typo?"
    assert (
        feedback.near_miss_help("weights", ["weight"], owner="`MyLinear`")
        == "`MyLinear` has `weight`, not `weights`: singular or plural?"
    )
    assert feedback.near_miss_help("MyLinear", ["Conv"], file="my_linear.py") == ""
    messages.set_language("ko")
    ko = feedback.near_miss_help("MyLinear", ["MyLiner"], file="my_linear.py")
    assert "`MyLiner`" in ko and "오타" in ko


def test_names_from_the_probe_side_are_plain_data():
    class Layer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(2))
            self.register_buffer("running", torch.zeros(1))
            self.inner = torch.nn.Linear(1, 1)

    names = probing.names_of(Layer())
    assert {"weight", "running", "inner", "forward"} <= set(names)
    assert all(isinstance(n, str) and not n.startswith("__") for n in names)
    assert probing.tensor_info(Layer(), "weights")["names"] == names
    assert probing.keys_of({"dw": 1, "db": 2}) == ["db", "dw"]
    assert probing.keys_of([1]) == []
    assert probing.signature_of(torch.nn.Linear) == [
        "in_features",
        "out_features",
        "bias",
        "device",
        "dtype",
    ]

    import types

    module = types.ModuleType("student")
    exec(
        "import torch\nfrom torch.nn import Linear\n"
        "class MyLiner: pass\ndef helper(): pass\nSIZE = 3",
        module.__dict__,
    )
    assert probing.names_of(module) == ["MyLiner", "SIZE", "helper"]

    class Hostile:
        def __dir__(self):
            raise RuntimeError("no")

    assert probing.names_of(Hostile()) == []


def test_state_is_replaced_keeping_its_kind_and_a_refusal_comes_back_as_data():
    class Student(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.plain = torch.zeros(2)
            self.register_buffer("buffer", torch.zeros(2))
            self.frozen = torch.nn.Parameter(torch.zeros(2), requires_grad=False)
            self.trained = torch.nn.Parameter(torch.zeros(2))

        @property
        def fixed(self) -> torch.Tensor:
            return torch.zeros(2)

    model = Student()
    plain, value = model.plain, torch.tensor([1.0, 2.0])
    for name in ("plain", "buffer", "frozen", "trained"):
        assert probing.replace(model, name, value) is None
        assert torch.equal(getattr(model, name), value)
    assert model.plain is not plain and not plain.any()  # a fresh tensor, not a copy into it
    assert type(model.plain) is torch.Tensor and not model.plain.requires_grad
    assert "buffer" in dict(model.named_buffers())
    assert type(model.frozen) is torch.nn.Parameter and not model.frozen.requires_grad
    assert model.trained.requires_grad and "trained" in dict(model.named_parameters())
    value.add_(1)
    assert model.frozen.tolist() == [1.0, 2.0]  # nothing shared with the check's tensor
    problem = probing.replace(model, "fixed", value)
    assert problem is not None and problem["name"] == "fixed"
    assert problem["error"].startswith("AttributeError: ")


def test_renamed_arguments():
    wanted = ["self", "in_features", "out_features", "bias"]
    assert feedback.renamed_arguments(wanted, ["self", "in_feature", "out_features", "bias"]) == [
        ("in_features", "in_feature")
    ]
    assert feedback.renamed_arguments(wanted, ["self", "n_in", "n_out", "bias"]) == []
    assert "`in_feature`" in feedback.renamed_argument_help(
        "__init__", wanted, ["self", "in_feature", "out_features", "bias"]
    )


def test_scale_factor_names_the_one_factor_that_fits():
    expected = torch.tensor([0.5, -1.0, 2.0, 3.0])
    m, lr = 8, 0.1
    candidates = {"1/m": 1 / m, "m": m, "-1": -1, "lr": lr}
    assert feedback.scale_factor(m * expected, expected, candidates) == "m"
    assert feedback.scale_factor(expected / m, expected, candidates) == "1/m"
    assert feedback.scale_factor(-expected, expected, candidates) == "-1"
    assert feedback.scale_hint(-expected, expected, candidates).startswith(
        "The values have the wrong sign"
    )
    assert "times lr" in feedback.scale_hint(lr * expected, expected, candidates)
    # Nothing fits, already right, or nothing to scale: silence.
    assert feedback.scale_factor(expected + 1, expected, candidates) is None
    assert feedback.scale_factor(expected, expected, candidates) is None
    assert feedback.scale_factor(torch.zeros(4), torch.zeros(4), candidates) is None
    # Two names for one number are named together; two different numbers cannot both fit.
    assert feedback.scale_factor(10 * expected, expected, {"m": 10, "1/lr": 10.0}) == "m = 1/lr"


def _raised(function) -> BaseException:
    try:
        function()
    except BaseException as exc:  # the test wants whatever torch raises
        return exc
    raise AssertionError("expected an exception")


def _explain(exc: BaseException, code: tuple[str, ...] = ()) -> str:
    return feedback.explain_exception(type(exc).__name__, str(exc), code)


def test_exceptions_from_real_torch_code_are_explained():
    x = torch.randn(4, 3)
    dtype = _raised(lambda: x.double() @ torch.randn(3, 2))
    assert "float64" in _explain(dtype)

    def in_place_leaf():
        w = torch.zeros(3, requires_grad=True)
        w -= 0.1 * torch.ones(3)

    assert "torch.no_grad()" in _explain(_raised(in_place_leaf))
    shapes = _raised(lambda: x @ torch.randn(2, 3))
    assert "inner sizes" in _explain(shapes)
    broadcast = _raised(lambda: torch.randn(4, 3) + torch.randn(4, 2))
    assert "incompatible shapes" in _explain(broadcast)

    def none_grad():
        w = torch.zeros(3, requires_grad=True)
        return w - 0.1 * w.grad

    exc = _raised(none_grad)
    assert _explain(exc) == ""  # NoneType alone is not enough
    assert ".grad" in _explain(exc, ("p = p - lr * p.grad",))
    cuda = _raised(lambda: torch.zeros(1).cuda()) if not torch.cuda.is_available() else None
    if cuda is not None:
        assert "torch.device('cuda' if torch.cuda.is_available() else 'cpu')" in _explain(cuda)
    no_graph = _raised(lambda: torch.zeros(1).sum().backward())
    assert "nothing to differentiate" in _explain(no_graph)
    assert _explain(ValueError("something else")) == ""


def test_device_messages_from_the_texts_torch_uses():
    same = (
        "Expected all tensors to be on the same device, but found at least two devices, "
        "cuda:0 and cpu!"
    )
    assert "different devices" in feedback.explain_exception("RuntimeError", same)
    assert "runs on the CPU" in feedback.explain_exception(
        "RuntimeError", "No CUDA GPUs are available"
    )


def test_call_logs_in_words_en_and_ko():
    pattern = ["zero_grad", "forward", "criterion", "backward", "step"]
    good = [pattern, pattern]
    assert feedback.describe_calls(good, pattern) == ""
    five_steps = [["zero_grad", "forward", "criterion", "backward"] + ["step"] * 5]
    assert (
        feedback.describe_calls(five_steps, pattern)
        == "`step()` ran 5 times in epoch 1; once per epoch over the whole batch is expected"
    )
    missing = [pattern, ["forward", "criterion", "backward", "step"]]
    assert feedback.describe_calls(missing, pattern).startswith(
        "`zero_grad()` never ran in epoch 2"
    )
    order = [["forward", "zero_grad", "criterion", "backward", "step"]]
    labels = {"forward": "the forward pass"}
    said = feedback.describe_calls(order, pattern, labels)
    assert said.startswith(
        "In epoch 1 the calls came in the order the forward pass → `zero_grad()`"
    )
    assert feedback.describe_call_totals(["step"] * 10, ["step"], 5) == (
        "`step()` ran 10 times over 5 epochs; once per epoch over the whole batch is expected"
    )
    messages.set_language("ko")
    assert "5번" in feedback.describe_calls(five_steps, pattern)
