"""Hidden checks for training_loop: train(model, inputs, labels, criterion, optimizer, epochs)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import torch

from grader.checks import Failure, check, fmt_shape, hints, seeded_randn
from grader.evidence import record_curve
from grader.messages import say

STEPS = ("zero_grad", "forward", "criterion", "backward", "step")


def _call(optimizer: dict[str, Any], criterion: str, epochs: int) -> str:
    settings = ", ".join(f"{k}={v}" for k, v in optimizer.items() if k != "name")
    return f"train(model, inputs, labels, {criterion}(), {optimizer['name']}({settings}), {epochs})"


def _initial_state(in_features: int, out_features: int) -> dict[str, torch.Tensor]:
    return {
        "weight": seeded_randn(out_features, in_features, scale=0.5),
        "bias": seeded_randn(out_features, scale=0.5),
    }


def reference_loop(state, inputs, labels, criterion, optimizer, epochs, variant="canonical"):
    """The standard loop, run in the judge; `variant` replays a known mistake for hints."""
    out_features, in_features = state["weight"].shape
    model = torch.nn.Linear(in_features, out_features)
    model.load_state_dict(state)
    loss_fn = getattr(torch.nn, criterion)()
    settings = {k: v for k, v in optimizer.items() if k != "name"}
    opt = getattr(torch.optim, optimizer["name"])(model.parameters(), **settings)
    losses = []
    for _ in range(epochs):
        if variant != "no_zero_grad" and variant != "zero_grad_late":
            opt.zero_grad()
        if variant == "step_first":
            opt.step()
        loss = loss_fn(model(inputs), labels)
        loss.backward()
        if variant == "zero_grad_late":
            opt.zero_grad()
        if variant != "step_first":
            opt.step()
        if variant == "double_step":
            opt.step()
        losses.append(
            loss.item() if variant != "loss_after_step" else loss_fn(model(inputs), labels).item()
        )
    return losses, {k: v.detach() for k, v in model.state_dict().items()}


VARIANT_HINTS = {
    "no_zero_grad": "hint_no_zero_grad",
    "zero_grad_late": "hint_zero_grad_late",
    "step_first": "hint_step_first",
    "double_step": "hint_double_step",
    "loss_after_step": "hint_loss_after_step",
}


def _same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Whether two state dicts hold the same values, compared in float64: a train() may
    change the model's dtype, which the contract leaves open."""
    return all(
        k in b
        and a[k].shape == b[k].shape
        and torch.allclose(a[k].double(), b[k].double(), rtol=1e-4, atol=1e-5)
        for k in a
    )


def _linear(inputs: torch.Tensor, state: dict[str, torch.Tensor]) -> torch.Tensor:
    """The trained nn.Linear's output, computed in the judge in float64 (whatever dtype the
    observed state has), so the judge's arithmetic cannot fail on a dtype."""
    return inputs.double() @ state["weight"].double().T + state["bias"].double()


def _same_losses(actual: list[Any], expected: list[float]) -> bool:
    return len(actual) == len(expected) and all(
        a is not None and abs(a - e) <= 1e-5 + 1e-4 * abs(e)
        for a, e in zip(actual, expected, strict=False)
    )


STEP_NAMES = {
    "zero_grad": "optimizer.zero_grad()",
    "forward": "model(inputs)",
    "criterion": "criterion(outputs, labels)",
    "backward": "loss.backward()",
    "step": "optimizer.step()",
}
ARGUMENTS = ["model", "inputs", "labels", "criterion", "optimizer", "epochs"]


def normalise_calls(observed: dict[str, Any]) -> list[str]:
    """The call log with what the spies could not see, but the effects show, filled in.

    Consecutive clears count as one (`optimizer.zero_grad()` and `model.zero_grad()` both is
    fine). Gradients found cleared at a backward pass with no spied clear since the last step
    were cleared some other way (say `p.grad = None`): that epoch gets its `zero_grad` back,
    so no one is told they did not clear what they did clear.
    """
    calls = observed.get("calls", [])
    clear = list(observed.get("grads_clear", []))
    no_spied_clear = "zero_grad" not in calls
    result: list[str] = []
    segment_start, backward_index = 0, 0
    for event in calls:
        if event == "zero_grad" and result and result[-1] == "zero_grad":
            continue
        if event == "backward":
            segment = result[segment_start:]
            was_clear = backward_index < len(clear) and clear[backward_index]
            first_ok = backward_index > 0 or (no_spied_clear and all(clear))
            if "zero_grad" not in segment and was_clear and first_ok:
                steps = [i for i, e in enumerate(segment) if e == "step"]
                result.insert(segment_start + (steps[-1] + 1 if steps else 0), "zero_grad")
            backward_index += 1
            segment_start = len(result) + 1
        result.append(event)
    return result


def _times(n: int) -> str:
    return say("times_once") if n == 1 else say("times_many", count=n)


def describe_calls(observed: dict[str, Any], epochs: int, rows: int) -> tuple[str, str] | None:
    """What is wrong with the calls, in words, and the hint for it; None when nothing is."""
    calls = normalise_calls(observed)
    counts = {step: calls.count(step) for step in STEPS}
    shapes = observed.get("forward_shapes", [])
    partial = [shape for shape in shapes if not shape or shape[0] != rows]
    if counts["forward"] > epochs and partial:
        message = say(
            "minibatch", count=counts["forward"], epochs=epochs, shape=partial[0], rows=rows
        )
        return message, say("hint_minibatch")
    if len(set(counts.values())) == 1 and counts["step"] not in (0, epochs):
        message = say("epochs_ran", count=counts["step"], epochs=epochs)
        return message, _epochs_hint(counts["step"], epochs)
    for step in STEPS:
        if counts[step] == epochs:
            continue
        name = STEP_NAMES[step]
        if counts[step] == 0:
            message = say("never_ran", name=name, epochs=epochs)
        else:
            times = _times(counts[step])
            message = (
                say("ran_times_clear", name=name, times=times, epochs=epochs)
                if step == "zero_grad"
                else say("ran_times", name=name, times=times, epochs=epochs)
            )
        return message, _count_hint(step, counts, epochs, calls)
    for epoch in range(epochs):
        got = calls[epoch * len(STEPS) : (epoch + 1) * len(STEPS)]
        if got != list(STEPS):
            message = say(
                "wrong_order",
                epoch=epoch + 1,
                actual=", ".join(STEP_NAMES[c] for c in got),
                expected=", ".join(STEP_NAMES[c] for c in STEPS),
            )
            return message, _order_hint(got)
    return None


def _count_hint(step: str, counts: dict[str, int], epochs: int, calls: list[str]) -> str:
    if step == "criterion" and counts["criterion"] > epochs and counts["forward"] == epochs:
        return say("hint_criterion_twice")
    if step in ("forward", "criterion") and counts[step] > epochs:
        after_step = [
            i
            for i in range(len(calls))
            if calls[i : i + 3] == ["step", "forward", "criterion"]
            and calls[i + 3 : i + 4] != ["backward"]
        ]
        # Once, after the last step and nothing after it: an evaluation after the loop.
        if after_step == [len(calls) - 3] and counts["forward"] == counts["step"] + 1:
            return say("hint_extra_evaluation")
        return say("hint_loss_after_step") if after_step else say("hint_extra_forward")
    if step == "zero_grad" and counts["zero_grad"] > epochs:
        late = any(calls[i : i + 3] == ["backward", "zero_grad", "step"] for i in range(len(calls)))
        return say("hint_zero_grad_late") if late else say("hint_zero_grad_twice")
    if step == "zero_grad":
        return say("hint_no_zero_grad")
    if step == "criterion" and counts["criterion"] == 0:
        return say("hint_own_criterion")
    if step == "step" and counts["step"] == 2 * epochs:
        return say("hint_double_step")
    if step == "step" and counts["step"] == 0:
        return say("hint_no_step")
    if step == "backward" and counts["backward"] == 0:
        return say("hint_no_backward")
    return say("call_order_help")


def _order_hint(epoch: list[str]) -> str:
    if epoch.index("step") < epoch.index("backward"):
        return say("hint_step_first")
    if epoch.index("backward") < epoch.index("zero_grad") < epoch.index("step"):
        return say("hint_zero_grad_late")
    if epoch.index("zero_grad") > epoch.index("step"):
        return say("hint_zero_grad_end")
    return say("call_order_help")


def _diagnose_calls(observed: dict[str, Any], epochs: int, rows: int) -> str:
    """A hint from the calls alone, for the mistakes a call log reveals."""
    described = describe_calls(observed, epochs, rows)
    if described is not None:
        return described[1]
    if "step" in observed.get("inferred", []):
        return say("hint_own_optimizer")
    return ""


def _shape_hint(observed: dict[str, Any], labels: torch.Tensor, criterion: str) -> str:
    """The criterion's first call, when its prediction is not `model(inputs)` as the model
    returned it, or its target is not `labels` as given: the shapes say so."""
    called = observed.get("criterion_shapes", [])
    if not called or len(called[0]) < 2:
        return ""
    prediction, target = called[0][0], called[0][1]
    outputs = observed.get("output_shapes", [])
    output = outputs[0] if outputs else None
    given = list(labels.shape)
    shapes = {
        "prediction": fmt_shape(prediction),
        "output": fmt_shape(output or []),
        "target": fmt_shape(target),
        "labels": fmt_shape(given),
    }
    if output and prediction != output:
        if criterion == "MSELoss" and prediction != given:
            return say("hint_prediction_broadcast", **shapes)
        return say("hint_prediction_reshaped", **shapes)
    if target != given:
        return say("hint_target_reshaped", **shapes)
    return ""


def _diagnose(observed, state, inputs, labels, criterion, optimizer, epochs) -> str:
    from_calls = _diagnose_calls(observed, epochs, inputs.shape[0])
    if from_calls and from_calls != say("call_order_help"):
        return from_calls
    from_shapes = _shape_hint(observed, labels, criterion)
    if from_shapes:
        return from_shapes
    values = observed.get("values", [])
    if any(v is None for v in values):
        return _item_hint(observed)
    for variant, key in VARIANT_HINTS.items():
        losses, final = reference_loop(state, inputs, labels, criterion, optimizer, epochs, variant)
        if _same_state(observed["final_state"], final) and (
            variant != "loss_after_step" or _same_losses(values, losses)
        ):
            return say(key)
    expected, _ = reference_loop(state, inputs, labels, criterion, optimizer, epochs)
    return _value_hint(values, expected, inputs.shape[0])


def _value_hint(values: list[Any], expected: list[float], rows: int) -> str:
    """Losses that are the right ones rescaled or summed up, named as such."""
    if len(values) != len(expected) or any(v is None for v in values):
        return ""
    running = [sum(expected[: i + 1]) for i in range(len(expected))]
    if _same_losses(values, running):
        return say("hint_running_total")
    for factor, key in ((rows, "hint_times_batch"), (1 / rows, "hint_divided_by_batch")):
        if _same_losses(values, [e * factor for e in expected]):
            return say(key, rows=rows)
    return ""


def _first_difference(actual: list[Any], expected: list[float]) -> str:
    for epoch, (a, e) in enumerate(zip(actual, expected, strict=False), start=1):
        if a is None or abs(a - e) > 1e-5 + 1e-4 * abs(e):
            return say("first_difference", epoch=epoch, actual=a, expected=e)
    return ""


def accuracy_of(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of rows whose largest logit is the label's, counted exactly: a float32 mean
    makes 57 right of 60 0.949999988, below 95%."""
    return int((logits.argmax(dim=1) == labels).sum()) / labels.numel()


def _regression_data(n: int = 32, features: int = 3):
    inputs = seeded_randn(n, features)
    labels = inputs @ seeded_randn(features, 1) + 0.5 + seeded_randn(n, 1, scale=0.05)
    return inputs, labels


def _classification_data(per_class: int = 20):
    centers = torch.tensor([[3.0, 0.0], [-3.0, 3.0], [-3.0, -3.0]])
    inputs = torch.cat([c + seeded_randn(per_class, 2, scale=0.7) for c in centers])
    labels = torch.arange(3).repeat_interleave(per_class)
    return inputs, labels


def _returned_help(observed: dict[str, Any], epochs: int) -> str:
    """Why what train returned is not a list, from its type (and shape, for an array)."""
    kind = observed["returned_type"]
    shape = observed.get("returned_shape")
    if kind == "NoneType":
        return say("hint_returns_none")
    if kind in ("float", "int") or shape == []:
        return say("hint_returns_one_loss")
    if shape == [epochs]:
        return say("hint_return_the_list", kind=kind)
    return say("hint_list_not_tuple")


def _epochs_run(observed: dict[str, Any]) -> int | None:
    """How many epochs the call log shows (one backward and one step each), or None when
    the log does not say."""
    calls = normalise_calls(observed)
    steps, backwards = calls.count("step"), calls.count("backward")
    return steps if steps == backwards and steps > 0 else None


def _expect_list(observed: dict[str, Any], call: str, epochs: int) -> None:
    if "length" not in observed:
        kind = observed["returned_type"]
        raise Failure(
            say("not_a_list", call=call, kind=kind, epochs=epochs), _returned_help(observed, epochs)
        )
    length = observed["length"]
    if length != epochs:
        ran = _epochs_run(observed)
        if ran == epochs:
            help = say("hint_one_loss_per_epoch", ran=ran, length=length)
        else:
            help = "" if ran is None else _epochs_hint(ran, epochs)
        raise Failure(say("wrong_length", call=call, length=length, epochs=epochs), help)


def _epochs_hint(count: int, epochs: int) -> str:
    if count == 1 and epochs > 2:
        return say("hint_stops_after_one_epoch")
    return say("hint_too_few_epochs") if count < epochs else say("hint_too_many_epochs")


def _item_hint(observed: dict[str, Any]) -> str:
    """What the list holds instead of floats, and how to record a float instead."""
    kinds = set(observed.get("item_kinds", []))
    if "method" in kinds:
        return say("hint_item_not_called")
    if kinds & {"numpy_array", "numpy_number"}:
        return say("hint_numpy_loss")
    if "tensor" in kinds:
        if not any(observed.get("item_requires_grad", [True])):
            return say("hint_detached_loss")
        return say("not_floats_help")
    return say("hint_list_not_tuple")


def _expect_list_of_floats(observed: dict[str, Any], call: str, epochs: int) -> None:
    _expect_list(observed, call, epochs)
    if observed["returned_type"] != "list":
        raise Failure(
            say("not_a_list", call=call, kind=observed["returned_type"], epochs=epochs),
            say("hint_list_not_tuple"),
        )
    kinds = sorted(set(observed["item_types"]))
    if kinds != ["float"]:
        raise Failure(say("not_floats", call=call, kind=", ".join(kinds)), _item_hint(observed))


@contextmanager
def _known_errors(probe):
    """Errors a student's loop commonly raises, mapped to what to fix; a reordered or renamed
    argument list is named from train's own signature."""
    try:
        with hints(
            {
                "does not require grad and does not have a grad_fn": say("hint_no_grad_forward"),
                "'float' object has no attribute 'backward'": say("hint_item_too_early"),
                "backward through the graph a second time": say("hint_backward_twice"),
                "log_softmax": say("criterion_order_help"),
                "Long": say("criterion_order_help"),
                "out of bounds": say("criterion_order_help"),
            }
        ):
            yield
    except Failure as failure:
        names = probe("signature", call="inspect.signature(train)").get("parameters")
        if names is not None and names != ARGUMENTS:
            failure.help = say(
                "hint_signature", actual=", ".join(names), expected=", ".join(ARGUMENTS)
            )
        raise


def _run_train(probe, optimizer, epochs, inputs, labels, state, criterion="MSELoss"):
    """Run the student's train() on an nn.Linear in `state`; return the observation and call."""
    call = _call(optimizer, criterion, epochs)
    with _known_errors(probe):
        observed = probe(
            "train",
            call=call,
            state=state,
            inputs=inputs,
            labels=labels,
            criterion=criterion,
            optimizer=optimizer,
            epochs=epochs,
        )
    return observed, call


def _expect_canonical(probe, optimizer: dict[str, Any], epochs: int = 6) -> None:
    inputs, labels = _regression_data()
    state = _initial_state(3, 1)
    observed, call = _run_train(probe, optimizer, epochs, inputs, labels, state)
    _expect_list(observed, call, epochs)
    expected_losses, expected_state = reference_loop(
        state, inputs, labels, "MSELoss", optimizer, epochs
    )
    record_curve(say("curve_losses"), observed["values"], expected_losses, rtol=1e-4, atol=1e-5)
    if not _same_losses(observed["values"], expected_losses):
        raise Failure(
            say(
                "trajectory",
                call=call,
                details=_first_difference(observed["values"], expected_losses),
            ),
            _diagnose(observed, state, inputs, labels, "MSELoss", optimizer, epochs),
        )
    if not _same_state(observed["final_state"], expected_state):
        details = ", ".join(
            say(
                "state_difference",
                name=k,
                actual=observed["final_state"][k].flatten()[:3].tolist(),
                expected=v.flatten()[:3].tolist(),
            )
            for k, v in expected_state.items()
        )
        raise Failure(
            say("final_state", call=call, details=details),
            _diagnose(observed, state, inputs, labels, "MSELoss", optimizer, epochs),
        )


@check(points=2, category="api", covers=["train-signature", "returns-list", "returns-floats"])
def test_returns_list_of_floats(probe):
    """train returns a list with one Python float per epoch."""
    epochs = 5
    optimizer = {"name": "SGD", "lr": 0.05}
    inputs, labels = _regression_data()
    observed, call = _run_train(probe, optimizer, epochs, inputs, labels, _initial_state(3, 1))
    _expect_list_of_floats(observed, call, epochs)


CANONICAL = [
    "returns-list",
    "call-order",
    "once-per-epoch",
    "epochs-count",
    "loss-before-update",
    "any-optimizer",
]


@check(points=2, category="values", covers=CANONICAL)
def test_matches_standard_loop_sgd_momentum(probe):
    """With SGD and momentum, the losses and final parameters match the standard loop."""
    _expect_canonical(probe, {"name": "SGD", "lr": 0.05, "momentum": 0.9})


@check(points=2, category="values", visibility="hidden", covers=CANONICAL)
def test_matches_standard_loop_adam(probe):
    """With Adam, the losses and final parameters match the standard loop."""
    _expect_canonical(probe, {"name": "Adam", "lr": 0.05})


@check(
    points=1,
    category="values",
    covers=["call-order", "once-per-epoch", "full-batch", "epochs-count", "any-criterion"],
)
def test_call_order(probe):
    """Each epoch calls zero_grad, forward, criterion, backward and step, in that order."""
    epochs = 3
    optimizer = {"name": "SGD", "lr": 0.05}
    inputs, labels = _regression_data()
    observed, call = _run_train(probe, optimizer, epochs, inputs, labels, _initial_state(3, 1))
    if not observed["calls"]:
        raise Failure(say("no_calls", call=call), say("call_order_help"))
    described = describe_calls(observed, epochs, inputs.shape[0])
    if described is not None:
        message, help = described
        raise Failure(f"{call}: {message}", help)


@check(points=1.5, category="convergence", covers=["any-optimizer", "call-order"])
def test_regression_with_mse_converges(probe):
    """Linear regression with MSELoss and SGD reaches a small loss."""
    epochs, limit = 150, 0.05
    inputs, labels = _regression_data(64)
    optimizer = {"name": "SGD", "lr": 0.1, "momentum": 0.5}
    observed, call = _run_train(probe, optimizer, epochs, inputs, labels, _initial_state(3, 1))
    state = observed["final_state"]
    loss = float(torch.nn.functional.mse_loss(_linear(inputs, state), labels.double()))
    if not loss < limit:
        raise Failure(
            say("not_converged_mse", task=call, epochs=epochs, value=loss, limit=limit),
            _diagnose_calls(observed, epochs, inputs.shape[0])
            or _shape_hint(observed, labels, "MSELoss"),
        )


@check(
    points=1.5,
    category="convergence",
    covers=["any-criterion", "criterion-order", "any-optimizer"],
)
def test_classification_with_cross_entropy_converges(probe):
    """Three-class classification with CrossEntropyLoss and Adam reaches high accuracy."""
    epochs, limit = 100, 0.95
    inputs, labels = _classification_data()
    optimizer = {"name": "Adam", "lr": 0.1}
    observed, call = _run_train(
        probe, optimizer, epochs, inputs, labels, _initial_state(2, 3), "CrossEntropyLoss"
    )
    state = observed["final_state"]
    logits = _linear(inputs, state)
    accuracy = accuracy_of(logits, labels)
    if not accuracy >= limit:
        raise Failure(
            say("not_converged_accuracy", task=call, epochs=epochs, value=accuracy, limit=limit),
            _diagnose_calls(observed, epochs, inputs.shape[0])
            or _shape_hint(observed, labels, "CrossEntropyLoss"),
        )
