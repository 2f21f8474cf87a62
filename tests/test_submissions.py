"""Exact verdicts for the sample submissions, graded by the real engine."""

from __future__ import annotations

import pytest

from grader.spec import discover
from tests.conftest import REFERENCE, SUBMISSIONS, TEMPLATE
from tests.test_golden import DEADLINES

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
