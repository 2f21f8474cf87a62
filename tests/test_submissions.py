"""Exact verdicts for the sample submissions, graded by the real engine."""

from __future__ import annotations

import pytest

from grader.spec import discover
from tests.conftest import REFERENCE, SUBMISSIONS, TEMPLATE
from tests.test_golden import DEADLINES

TL = "training_loop::"
STOPS_EARLY = "The loop stopped after its first epoch: a `return` (or `break`) inside the loop"
RETURN_THE_LIST = "return the list itself, `return losses`"
SGD = "my_sgd::"
DETACHED = "MySGD holds new tensor objects made from the parameters (`p.detach()` or `p.data`)"
KEPT_NONE = "MySGD(params, lr) holds none of the 3 parameters it was given"
ITEM_NOT_CALLED = "the method `loss.item` itself, never called: append `loss.item()`"

# fixture folder -> {check id: (status, text in message, text in hint)}; every other check passes.
EXPECTED: dict[str, dict[str, tuple[str, str, str]]] = {
    "correct_variant": {},
    "my_linear_transposed": {
        "my_linear::test_parameter_shapes": (
            "failed",
            "weights has shape (2, 3); expected (3, 2)",
            "(in_features, out_features)",
        ),
        "my_linear::test_output_shape_1d_and_2d": (
            "failed",
            "cannot be multiplied",
            "stores weights as (in_features",
        ),
        "my_linear::test_output_shape_3d": ("failed", "raised RuntimeError", ""),
        "my_linear::test_output_shape_size_one": (
            "failed",
            "cannot be multiplied",
            "stores weights as (in_features",
        ),
        "my_linear::test_output_values": ("failed", "could not set the parameters", ""),
        "my_linear::test_output_values_1d_and_3d": ("failed", "could not set the parameters", ""),
        "my_linear::test_output_values_without_bias": ("failed", "weights has shape (2, 3)", ""),
        "my_linear::test_gradients_reach_parameters": ("failed", "weights has shape (2, 3)", ""),
        "my_linear::test_sgd_fits_linear_regression": ("failed", "cannot be multiplied", ""),
    },
    "my_linear_plain_tensor": {
        "my_linear::test_parameters_registered": ("failed", "lists ['bias']", "nn.Parameter"),
        "my_linear::test_bias_false_registers_no_bias": ("failed", "lists nothing", ""),
        "my_linear::test_gradients_reach_parameters": (
            "failed",
            "weights.grad is None",
            "Is `weights` an `nn.Parameter`?",
        ),
        "my_linear::test_sgd_fits_linear_regression": ("failed", "mean squared error", ""),
    },
    "my_linear_no_bias_in_forward": {
        "my_linear::test_output_values": ("failed", "wrong values", "Is the bias added"),
        "my_linear::test_output_values_1d_and_3d": (
            "failed",
            "with x of shape (3,) returned the right shape but wrong values",
            "Is the bias added",
        ),
        "my_linear::test_gradients_reach_parameters": ("failed", "bias.grad is None", ""),
        "my_linear::test_sgd_fits_linear_regression": ("failed", "mean squared error", ""),
    },
    # The bias is dropped for 1-D input only: the value check of 1-D and 3-D input names it.
    "my_linear_bias_missing_1d": {
        "my_linear::test_output_values_1d_and_3d": (
            "failed",
            "with x of shape (3,) returned the right shape but wrong values",
            "For x of shape (3,), the output is exactly x @ weights: the bias is missing",
        ),
    },
    "my_linear_squeeze": {
        "my_linear::test_output_shape_size_one": (
            "failed",
            "with x of shape (1, 3) returned shape (2,); expected (1, 2)",
            "lost a dimension of size 1 (it has shape (2,)): does forward call `.squeeze()`",
        ),
    },
    # `return y,`: every forward check says a tuple came back, and so does the backward check.
    "my_linear_returns_tuple": {
        f"my_linear::{name}": ("failed", "returned a tuple; expected a torch.Tensor", "stray comma")
        for name in (
            "test_output_shape_1d_and_2d",
            "test_output_shape_3d",
            "test_output_shape_size_one",
            "test_output_values",
            "test_output_values_1d_and_3d",
            "test_output_values_without_bias",
            "test_gradients_reach_parameters",
        )
    }
    | {
        "my_linear::test_sgd_fits_linear_regression": (
            "failed",
            "'tuple' object has no attribute",
            "stray comma",
        ),
    },
    # nn.Parameter(...) / sqrt(in): wrapped, then computed with; never "wrap it" nor "backward
    # twice", but "do the arithmetic before wrapping".
    "my_linear_scaled_parameter": {
        name: ("failed", message, "Do the arithmetic before wrapping")
        for name, message in (
            ("my_linear::test_parameters_registered", "lists ['bias']"),
            ("my_linear::test_bias_false_registers_no_bias", "lists nothing"),
            ("my_linear::test_gradients_reach_parameters", "weights.grad is None"),
            ("my_linear::test_sgd_fits_linear_regression", "backward through the graph a second"),
        )
    },
    "training_loop_no_zero_grad": {
        "training_loop::test_matches_standard_loop_sgd_momentum": (
            "failed",
            "losses per epoch differ",
            "Gradients accumulate",
        ),
        "training_loop::test_matches_standard_loop_adam": (
            "failed",
            "First difference at epoch 3",
            "zero_grad()",
        ),
        "training_loop::test_call_order": (
            "failed",
            "optimizer.zero_grad() never ran in 3 epochs; once per epoch is expected",
            "Gradients accumulate",
        ),
        "training_loop::test_regression_with_mse_converges": (
            "failed",
            "after 150 epochs",
            "Gradients accumulate",
        ),
    },
    "training_loop_step_before_backward": {
        "training_loop::test_matches_standard_loop_sgd_momentum": (
            "failed",
            "losses per epoch differ",
            "must come after `loss.backward()`",
        ),
        "training_loop::test_matches_standard_loop_adam": ("failed", "differ", ""),
        "training_loop::test_call_order": (
            "failed",
            "in epoch 1 the steps ran in the order optimizer.zero_grad(), model(inputs), "
            "criterion(outputs, labels), optimizer.step(), loss.backward()",
            "must come after `loss.backward()`",
        ),
        "training_loop::test_regression_with_mse_converges": ("failed", "MSE", ""),
        "training_loop::test_classification_with_cross_entropy_converges": (
            "failed",
            "accuracy",
            "must come after",
        ),
    },
    "training_loop_returns_tensors": {
        "training_loop::test_returns_list_of_floats": ("failed", "a list of Tensor", "loss.item()"),
    },
    "training_loop_append_after_loop": {
        f"{TL}test_returns_list_of_floats": (
            "failed",
            "returned 1 losses; expected 5",
            "The loop ran 5 epochs, but the list it returned holds 1",
        ),
        f"{TL}test_matches_standard_loop_sgd_momentum": ("failed", "expected 6", "ran 6 epochs"),
        f"{TL}test_matches_standard_loop_adam": ("failed", "expected 6", "one loss per epoch"),
    },
    "training_loop_logs_every_other_epoch": {
        f"{TL}test_returns_list_of_floats": (
            "failed",
            "returned 3 losses; expected 5",
            "The loop ran 5 epochs, but the list it returned holds 3",
        ),
        f"{TL}test_matches_standard_loop_sgd_momentum": ("failed", "expected 6", "ran 6 epochs"),
        f"{TL}test_matches_standard_loop_adam": ("failed", "expected 6", "one loss per epoch"),
    },
    "training_loop_final_loss_appended": {
        f"{TL}test_returns_list_of_floats": (
            "failed",
            "returned 6 losses; expected 5",
            "The loop ran 5 epochs, but the list it returned holds 6",
        ),
        f"{TL}test_matches_standard_loop_sgd_momentum": ("failed", "expected 6", "holds 7"),
        f"{TL}test_matches_standard_loop_adam": ("failed", "expected 6", "holds 7"),
        f"{TL}test_call_order": (
            "failed",
            "model(inputs) ran 4 times in 3 epochs",
            "After the last `optimizer.step()` the model and the criterion ran once more",
        ),
    },
    "training_loop_return_in_loop": {
        f"{TL}test_returns_list_of_floats": ("failed", "returned 1 losses", STOPS_EARLY),
        f"{TL}test_matches_standard_loop_sgd_momentum": ("failed", "expected 6", STOPS_EARLY),
        f"{TL}test_matches_standard_loop_adam": ("failed", "expected 6", STOPS_EARLY),
        f"{TL}test_call_order": ("failed", "the loop ran 1 epochs", STOPS_EARLY),
        f"{TL}test_regression_with_mse_converges": ("failed", "after 150 epochs", STOPS_EARLY),
        f"{TL}test_classification_with_cross_entropy_converges": (
            "failed",
            "accuracy is 10.0%",
            STOPS_EARLY,
        ),
    },
    "training_loop_criterion_twice": {
        f"{TL}test_call_order": (
            "failed",
            "criterion(outputs, labels) ran 6 times in 3 epochs",
            "The criterion ran more than once per epoch while the model ran once",
        ),
    },
    "training_loop_zero_grad_both_ends": {
        f"{TL}test_call_order": (
            "failed",
            "optimizer.zero_grad() ran 4 times in 3 epochs; once per epoch, at the start",
            "cleared more often than once per epoch",
        ),
    },
    "training_loop_numpy_losses": {
        f"{TL}test_returns_list_of_floats": (
            "failed",
            "a list of ndarray",
            "The list holds NumPy values",
        ),
    },
    "training_loop_returns_tensor_of_losses": {
        f"{TL}test_returns_list_of_floats": ("failed", "returned a Tensor", RETURN_THE_LIST),
        f"{TL}test_matches_standard_loop_sgd_momentum": ("failed", "a Tensor", RETURN_THE_LIST),
        f"{TL}test_matches_standard_loop_adam": ("failed", "a Tensor", RETURN_THE_LIST),
    },
    "training_loop_item_not_called": {
        f"{TL}test_returns_list_of_floats": (
            "failed",
            "a list of builtin_function_or_method",
            ITEM_NOT_CALLED,
        ),
        f"{TL}test_matches_standard_loop_sgd_momentum": ("failed", "got None", ITEM_NOT_CALLED),
        f"{TL}test_matches_standard_loop_adam": ("failed", "got None", ITEM_NOT_CALLED),
    },
    "training_loop_squeezed_outputs": {
        f"{TL}test_matches_standard_loop_sgd_momentum": (
            "failed",
            "losses per epoch differ",
            "prediction of shape (32,), but `model(inputs)` returned shape (32, 1)",
        ),
        f"{TL}test_matches_standard_loop_adam": ("failed", "differ", "MSELoss broadcasts"),
        f"{TL}test_regression_with_mse_converges": (
            "failed",
            "after 150 epochs the MSE",
            "prediction of shape (64,)",
        ),
    },
    "my_sgd_resets_buffer_on_none": {
        f"{SGD}test_skips_parameters_without_grad": (
            "failed",
            "after step 4 of MySGD(params, 0.2, momentum=0.9), parameter 1 (shape (2,)) differs",
            "Parameter 1 had no `.grad` on step(s) 2, 3, and on its next step with a gradient it "
            "moved as if its momentum buffer had started again",
        ),
    },
    "my_sgd_decays_buffer_on_none": {
        f"{SGD}test_skips_parameters_without_grad": (
            "failed",
            "after step 4 of MySGD(params, 0.2, momentum=0.9), parameter 1 (shape (2,)) differs",
            "as if its momentum buffer had decayed meanwhile",
        ),
    },
    "my_sgd_params_detached": {
        f"{SGD}test_zero_grad_clears_gradients": ("failed", "still has a non-zero grad", DETACHED),
        f"{SGD}test_accepts_a_generator": ("failed", "", DETACHED),
        f"{SGD}test_step_without_momentum": ("failed", "", DETACHED),
        f"{SGD}test_momentum_matches_torch": ("failed", "", DETACHED),
        f"{SGD}test_momentum_matches_torch_other_settings": ("failed", "", DETACHED),
        f"{SGD}test_skips_parameters_without_grad": ("failed", "", DETACHED),
        f"{SGD}test_buffer_is_a_copy": ("failed", "", DETACHED),
        f"{SGD}test_update_in_place": ("failed", "", DETACHED),
        f"{SGD}test_training_follows_torch_sgd": ("failed", "", DETACHED),
        f"{SGD}test_regression_converges": ("failed", "", DETACHED),
    },
    "my_sgd_filters_params_at_init": {
        f"{SGD}test_zero_grad_clears_gradients": ("failed", "still has a non-zero grad", KEPT_NONE),
        f"{SGD}test_accepts_a_generator": ("failed", "", KEPT_NONE),
        f"{SGD}test_step_without_momentum": ("failed", "", KEPT_NONE),
        f"{SGD}test_momentum_matches_torch": ("failed", "", KEPT_NONE),
        f"{SGD}test_momentum_matches_torch_other_settings": ("failed", "", KEPT_NONE),
        f"{SGD}test_skips_parameters_without_grad": ("failed", "", KEPT_NONE),
        f"{SGD}test_buffer_is_a_copy": ("failed", "", KEPT_NONE),
        f"{SGD}test_update_in_place": ("failed", "", KEPT_NONE),
        f"{SGD}test_training_follows_torch_sgd": ("failed", "", KEPT_NONE),
        f"{SGD}test_regression_converges": ("failed", "", KEPT_NONE),
    },
    "my_sgd_keyword_only_momentum": {
        f"{SGD}test_momentum_matches_torch_other_settings": (
            "failed",
            "takes 3 positional arguments but 4 were given",
            "with no `*` before `momentum`",
        ),
    },
    "scratch_lr_sum_not_mean": {
        "scratch_lr::test_dw_matches_autograd": ("failed", "wrong values", "divide by m"),
    },
    "scratch_lr_no_bias_in_forward": {
        "scratch_lr::test_forward_with_bias": ("failed", "b = 0.7", "add `+ self.b`"),
        "scratch_lr::test_training_converges": ("failed", "did not fall", ""),
    },
    "scratch_lr_sign_error": {
        "scratch_lr::test_dw_matches_autograd": ("failed", "wrong values", "opposite sign"),
        "scratch_lr::test_db_matches_autograd": ("failed", "wrong values", "opposite sign"),
        "scratch_lr::test_training_converges": ("failed", "did not fall", ""),
    },
    "scratch_lr_uses_autograd": {
        "scratch_lr::test_no_autograd": ("failed", "w requires grad", "No autograd"),
        # It also rebuilds yhat from x instead of using the yhat backward is given.
        "scratch_lr::test_backward_uses_given_yhat": (
            "failed",
            "differs between the two models",
            "from the yhat it is given",
        ),
    },
    # b = 0, a Python int: the init checks say what b is; training, which makes it a tensor in
    # its first step, is not failed for it.
    "scratch_lr_b_python_int": {
        "scratch_lr::test_initial_shapes": (
            "failed",
            "LR(3).b is a Python int, not a tensor; expected a tensor of shape ()",
            "b is a 0-dim tensor, torch.scalar_tensor(0)",
        ),
        "scratch_lr::test_initial_values": ("failed", "LR(3).b is a Python int", "0-dim tensor"),
    },
    # b never moves, yet 190 of 200 points are right: exactly 95% is "at least 95%".
    "scratch_lr_db_never_set": {
        "scratch_lr::test_db_matches_autograd": (
            "failed",
            "Got 0, expected",
            "grads['db'] is still 0, the value it started with",
        ),
    },
    # torch.func.grad loads the real torch._dynamo, which makes its compile cache at import: in
    # the probe's scratch folder, so nothing fails for the sandbox's read-only /tmp. Each probe
    # pays for that import (about 3 s), so it is graded with a longer deadline.
    "scratch_lr_torch_func": {
        "scratch_lr::test_no_autograd": ("failed", "used autograd (grad)", "No autograd"),
        "scratch_lr::test_backward_uses_given_yhat": (
            "failed",
            "differs between the two models",
            "from the yhat it is given",
        ),
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_verdicts(grade_folder, name):
    graded = grade_folder(SUBMISSIONS / name, *DEADLINES.get(name, ()))
    expected = EXPECTED[name]
    assert graded.not_passed() == set(expected)
    for check_id, (status, message, hint) in expected.items():
        check = graded.check(check_id)
        assert check["status"] == status
        assert check["score"] == 0
        assert message in check["message"]
        assert hint in check["hint"]
    graded_points = sum(
        a["max_score"] for a in graded.report["assignments"] if a["status"] == "graded"
    )
    lost = sum(graded.check(c)["max_score"] for c in expected)
    assert graded.report["score"] == graded_points - lost


def test_reference_scores_full_marks(grade_folder):
    graded = grade_folder(REFERENCE)
    total = sum(spec.points for spec in discover())
    assert graded.report["score"] == graded.report["max_score"] == total
    assert all(a["status"] == "graded" for a in graded.report["assignments"])
    assert f"Total: {total:g}/{total:g}" in graded.result.output


def test_template_scores_zero_and_says_not_implemented(grade_folder):
    graded = grade_folder(TEMPLATE)
    assert graded.report["score"] == 0
    for assignment in graded.report["assignments"]:
        assert assignment["status"] == "graded"
        for check in assignment["checks"]:
            assert check["status"] == "failed"
            assert "is not implemented yet" in check["message"]
            assert "Traceback" not in check["message"]


def test_missing_files_score_zero_and_others_are_graded(grade_folder):
    graded = grade_folder(SUBMISSIONS / "only_my_linear")
    assert graded.assignment("my_linear")["score"] == 10
    for name, file in (("training_loop", "training_loop.py"), ("scratch_lr", "scratch_lr.py")):
        assignment = graded.assignment(name)
        assert assignment["status"] == "missing"
        assert assignment["score"] == 0
        assert assignment["message"] == f"{file} not found"


def test_syntax_error_fails_only_its_assignment(grade_folder):
    graded = grade_folder(SUBMISSIONS / "syntax_error")
    my_linear = graded.assignment("my_linear")
    assert my_linear["score"] == 0
    for check in my_linear["checks"]:
        assert check["status"] == "failed"
        assert "my_linear.py could not be imported: SyntaxError" in check["message"]
        assert "(my_linear.py, line" in check["message"]
    assert graded.report["score"] == 20


def test_exit_at_import_fails_only_its_assignment(grade_folder):
    graded = grade_folder(SUBMISSIONS / "exit_at_import")
    for check in graded.assignment("training_loop")["checks"]:
        assert check["status"] == "failed"
        assert (
            "stopped the grader while being imported: the code called exit(3)" in check["message"]
        )
    assert graded.report["score"] == 20


def test_infinite_loop_times_out_and_grading_goes_on(grade_folder):
    graded = grade_folder(SUBMISSIONS / "infinite_loop", "--timeout", "1")
    timed_out = {
        c["id"] for c in graded.assignment("scratch_lr")["checks"] if c["status"] == "timeout"
    }
    # Two deadlines at most: the checks after the second timeout are not run.
    assert timed_out == {"scratch_lr::test_forward_shape", "scratch_lr::test_forward_with_bias"}
    check = graded.check("scratch_lr::test_forward_shape")
    assert check["message"] == "LR(3).forward(x) with x of shape (3, 8) did not finish within 1 s"
    assert check["score"] == 0
    checks = graded.assignment("scratch_lr")["checks"]
    not_run = [c for c in checks if c["status"] == "not_run"]
    assert not_run and all(c["score"] == 0 for c in not_run)
    last_timeout = max(i for i, c in enumerate(checks) if c["status"] == "timeout")
    assert checks.index(not_run[0]) > last_timeout
    for assignment in graded.report["assignments"]:
        if assignment["name"] != "scratch_lr" and assignment["status"] == "graded":
            assert assignment["score"] == assignment["max_score"], assignment["name"]


def test_messages_name_the_student_line(grade_folder):
    graded = grade_folder(SUBMISSIONS / "my_linear_transposed")
    message = graded.check("my_linear::test_output_shape_1d_and_2d")["message"]
    assert "MyLinear(3, 2)(x) with x of shape (3,)" in message
    assert "(my_linear.py, line" in message
    assert "grader" not in message.split("raised")[1]


def test_a_misnamed_class_is_reported_as_not_defined(grade_folder, tmp_path):
    folder = tmp_path / "misnamed"
    folder.mkdir()
    source = (REFERENCE / "my_linear.py").read_text()
    (folder / "my_linear.py").write_text(source.replace("class MyLinear(", "class MyLinearLayer("))
    graded = grade_folder(folder, "-a", "my_linear")
    check = graded.check("my_linear::test_subclasses_module")
    assert check["status"] == "failed"
    assert check["message"].endswith("my_linear.py does not define MyLinear")
    assert "spelling" in check["hint"]
    assert graded.report["score"] == 0


VARIANTS = SUBMISSIONS / "variants"


def test_frozen_parameters_are_graded_like_plain_tensors(grade_folder):
    """w and b as nn.Parameter(..., requires_grad=False) meet the contract: the checks set
    them to values of their own as Parameters, which a module accepts."""
    graded = grade_folder(VARIANTS / "scratch_lr" / "frozen_parameters", "-a", "scratch_lr")
    assert graded.not_passed() == set()
    assert graded.assignment("scratch_lr")["score"] == 10


def test_state_the_check_cannot_set_is_not_blamed_on_the_method(grade_folder, tmp_path):
    folder = tmp_path / "read_only_w"
    folder.mkdir()
    source = (REFERENCE / "scratch_lr.py").read_text()
    for old, new in (
        ("        self.w = torch.zeros(dim, 1)\n", "        self._w = torch.zeros(dim, 1)\n"),
        ("        self.w = self.w - ", "        self._w = self._w - "),
        (
            "    def sigmoid(self, z):",
            "    w = property(lambda self: self._w)\n\n    def sigmoid(self, z):",
        ),
    ):
        assert old in source
        source = source.replace(old, new)
    (folder / "scratch_lr.py").write_text(source)
    graded = grade_folder(folder, "-a", "scratch_lr")
    check = graded.check("scratch_lr::test_forward_with_bias")
    assert check["status"] == "failed"
    assert check["message"].startswith("the check could not set LR(3).w to its own values")
    assert "LR(3).forward(x) with b = 0.7 was not run: AttributeError" in check["message"]
    assert "raised" not in check["message"]
    assert "property" in check["hint"]


def test_float64_parameters_fit_like_float32_ones(grade_folder):
    """The contract leaves the dtype open (any-init): float64 weights, with a forward that
    casts x to them and back, are correct, and the judge's loss is computed in float64."""
    graded = grade_folder(VARIANTS / "my_linear" / "float64_cast_in_forward", "-a", "my_linear")
    assert graded.not_passed() == set()
    assert graded.assignment("my_linear")["score"] == 10
