"""my_linear and training_loop: equivalent code scores full marks, the lecture's slips are named,
and the call spies see every call however it is made."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from grader import messages
from grader.sandbox.probing import CallLog, SpyCriterion, spy_module, spy_optimizer
from tests.conftest import ROOT, SUBMISSIONS, variant_rows

VARIANTS = SUBMISSIONS / "variants"
LECTURE = SUBMISSIONS / "lecture_code"
EXERCISES = ("my_linear", "training_loop")


@pytest.fixture
def training_loop_messages():
    """`describe_calls` speaks with training_loop's catalogue, as it does in the judge."""
    messages.set_assignment(ROOT / "assignments" / "training_loop")
    yield
    messages.set_assignment(None)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_correct_variant_scores_full_marks(validation, exercise: str) -> None:
    """Each folder under variants/<exercise>/ is a different, correct style: all get 10/10
    (graded once for the session by `grade reference`, with the engine of `grade submit`)."""
    folders = sorted(p.name for p in (VARIANTS / exercise).iterdir() if p.is_dir())
    assert len(folders) >= 8
    rows = variant_rows(validation, exercise)
    assert sorted(rows) == folders
    for name, row in rows.items():
        assert row["actual"] == "10/10" and row["ok"], (name, row["detail"])


def _lecture_stage(tmp_path: Path, *fixes: tuple[str, str]) -> Path:
    """The lecture's files with some of its slips fixed, as a student would fix them in turn."""
    folder = tmp_path / f"stage{len(fixes)}"
    shutil.copytree(LECTURE, folder)
    path = folder / "my_linear.py"
    source = path.read_text()
    for old, new in fixes:
        assert old in source
        source = source.replace(old, new)
    path.write_text(source)
    return folder


TYPO = ("MyLiner", "MyLinear")
ATTACH = ("\n\nif __name__", "\n\nMyLinear.forward = forward\n\nif __name__")
PLUS_B = (
    "    return x @ self.weights\n",
    "    y = x @ self.weights\n    return y if self.bias is None else y + self.bias\n",
)


def _feedback(graded, exercise: str) -> str:
    checks = graded.assignment(exercise)["checks"]
    return "\n".join(f"{c['message']}\n{c['hint']}" for c in checks if c["status"] != "passed")


def test_the_lecture_code_gets_each_slip_named(grade_folder, tmp_path: Path) -> None:
    """Graded as handed in, then with one slip fixed at a time: each message names the next slip,
    and the fully fixed file, `.to(device)` everywhere, scores full marks."""
    as_written = grade_folder(LECTURE, "-a", "my_linear", "-a", "training_loop")
    assert as_written.assignment("training_loop")["score"] == 10
    assert "defines `MyLiner`, not `MyLinear`: a typo?" in _feedback(as_written, "my_linear")

    stages = [
        ((TYPO,), "defines `forward` at the top level, outside `class MyLinear`"),
        ((TYPO, ATTACH), "Is the bias added in forward?"),
    ]
    for fixes, named in stages:
        graded = grade_folder(_lecture_stage(tmp_path, *fixes), "-a", "my_linear")
        feedback = _feedback(graded, "my_linear")
        assert named in feedback
        assert "MyLiner`" not in feedback
    fixed = grade_folder(_lecture_stage(tmp_path, TYPO, ATTACH, PLUS_B), "-a", "my_linear")
    assert fixed.assignment("my_linear")["score"] == 10


def _run_loop(forward, backward, zero_grad, step, epochs: int = 3) -> CallLog:
    """A correct loop whose five steps are made by the given callables, under the spies."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    log = CallLog()
    spy_module(model, log)
    criterion = SpyCriterion(torch.nn.MSELoss(), log)
    optimizer = spy_optimizer(torch.optim.SGD(model.parameters(), lr=0.1), log)
    inputs, labels = torch.randn(8, 3), torch.randn(8, 1)
    for _ in range(epochs):
        zero_grad(model, optimizer)
        loss = criterion(forward(model, inputs), labels)
        backward(loss)
        step(optimizer)
    log.finish()
    return log


FORWARDS = {
    "call": lambda m, x: m(x),
    "forward": lambda m, x: m.forward(x),
    "dunder_call": lambda m, x: m.__call__(x),
    "module_call": lambda m, x: torch.nn.Module.__call__(m, x),
    "class_forward": lambda m, x: torch.nn.Linear.forward(m, x),
    "functional_call": lambda m, x: torch.func.functional_call(m, dict(m.named_parameters()), (x,)),
    "wrapper": lambda m, x: torch.nn.Sequential(m)(x),
    "f_linear": lambda m, x: torch.nn.functional.linear(x, m.weight, m.bias),
}
BACKWARDS = {
    "method": lambda loss: loss.backward(),
    "autograd": lambda loss: torch.autograd.backward(loss),
    "autograd_list": lambda loss: torch.autograd.backward([loss]),
}
CLEARS = {
    "optimizer": lambda m, o: o.zero_grad(),
    "set_to_none_false": lambda m, o: o.zero_grad(set_to_none=False),
    "model": lambda m, o: m.zero_grad(),
    "both": lambda m, o: (m.zero_grad(), o.zero_grad()),
    "class_method": lambda m, o: torch.optim.Optimizer.zero_grad(o),
    "by_hand": lambda m, o: [setattr(p, "grad", None) for p in m.parameters()],
}
STEPS = {
    "method": lambda o: o.step(),
    "class_method": lambda o: torch.optim.SGD.step(o),
}


@pytest.mark.parametrize("how", sorted(FORWARDS))
def test_the_spies_see_every_forward_pass(how: str) -> None:
    log = _run_loop(FORWARDS[how], BACKWARDS["method"], CLEARS["optimizer"], STEPS["method"])
    assert log.events == ["zero_grad", "forward", "criterion", "backward", "step"] * 3


@pytest.mark.parametrize("how", sorted(BACKWARDS))
def test_the_spies_see_every_backward_pass(how: str) -> None:
    log = _run_loop(FORWARDS["call"], BACKWARDS[how], CLEARS["optimizer"], STEPS["method"])
    assert log.events.count("backward") == 3


@pytest.mark.parametrize("how", sorted(STEPS))
def test_the_spies_see_every_step(how: str) -> None:
    log = _run_loop(FORWARDS["call"], BACKWARDS["method"], CLEARS["optimizer"], STEPS[how])
    assert log.events == ["zero_grad", "forward", "criterion", "backward", "step"] * 3


@pytest.mark.parametrize("how", sorted(CLEARS))
@pytest.mark.usefixtures("training_loop_messages")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")
def test_a_clear_the_spies_miss_is_never_reported_missing(how: str) -> None:
    """Cleared by a spied call or by hand, the judge's view of the calls is the contract's order."""
    from assignments.training_loop.checks.test_training_loop import describe_calls

    log = _run_loop(FORWARDS["call"], BACKWARDS["method"], CLEARS[how], STEPS["method"])
    observed = {
        "calls": log.events,
        "grads_clear": log.grads_clear,
        "forward_shapes": log.forward_shapes,
        "inferred": log.inferred,
    }
    assert describe_calls(observed, epochs=3, rows=8) is None
    assert all(log.grads_clear)


@pytest.mark.usefixtures("training_loop_messages")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")
def test_a_missing_clear_is_described_in_words() -> None:
    from assignments.training_loop.checks.test_training_loop import describe_calls

    log = _run_loop(
        FORWARDS["call"], BACKWARDS["method"], lambda m, o: None, STEPS["method"], epochs=3
    )
    observed = {
        "calls": log.events,
        "grads_clear": log.grads_clear,
        "forward_shapes": log.forward_shapes,
    }
    described = describe_calls(observed, epochs=3, rows=8)
    assert described is not None
    message, hint = described
    assert message == "optimizer.zero_grad() never ran in 3 epochs; once per epoch is expected"
    assert "Gradients accumulate" in hint


@pytest.mark.parametrize("how", ["call", "class_forward"])
def test_a_criterion_called_again_on_the_same_outputs_is_no_new_forward_pass(how: str) -> None:
    """`criterion(outputs, labels)` once for backward and once more for the record: one forward
    pass per epoch (spied, or inferred when it bypassed the spy), and two criterion calls."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    log = CallLog()
    spy_module(model, log)
    criterion = SpyCriterion(torch.nn.MSELoss(), log)
    optimizer = spy_optimizer(torch.optim.SGD(model.parameters(), lr=0.1), log)
    inputs, labels = torch.randn(8, 3), torch.randn(8, 1)
    for _ in range(3):
        optimizer.zero_grad()
        outputs = FORWARDS[how](model, inputs)
        criterion(outputs, labels).backward()
        optimizer.step()
        criterion(outputs, labels).item()
    log.finish()
    epoch = ["zero_grad", "forward", "criterion", "backward", "step", "criterion"]
    assert log.events == epoch * 3
    assert log.inferred == ([] if how == "call" else ["forward"] * 3)


@pytest.mark.usefixtures("training_loop_messages")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")
def test_too_many_clears_are_not_told_to_clear() -> None:
    """zero_grad() at the start and at the end of each epoch: too many clears, said as such."""
    from assignments.training_loop.checks.test_training_loop import describe_calls

    log = _run_loop(
        FORWARDS["call"],
        BACKWARDS["method"],
        CLEARS["optimizer"],
        lambda o: (o.step(), o.zero_grad()),
    )
    observed = {"calls": log.events, "grads_clear": log.grads_clear}
    described = describe_calls(observed, epochs=3, rows=8)
    assert described is not None
    message, hint = described
    assert message == (
        "optimizer.zero_grad() ran 4 times in 3 epochs; once per epoch, at the start of the "
        "epoch, is expected"
    )
    assert "more often than once per epoch" in hint
    assert "Gradients accumulate" not in hint


def test_accuracy_is_counted_exactly() -> None:
    """57 right of 60 is 95%, which "at least 95%" accepts (a float32 mean gives 0.94999999)."""
    from assignments.training_loop.checks.test_training_loop import accuracy_of

    labels = torch.arange(3).repeat_interleave(20)
    logits = torch.nn.functional.one_hot(labels, 3).float()
    logits[:3] = torch.tensor([0.0, 0.0, 1.0])  # three of the first class wrong
    assert float((logits.argmax(dim=1) == labels).float().mean()) < 0.95
    assert accuracy_of(logits, labels) >= 0.95
    assert accuracy_of(logits, labels) == 57 / 60
