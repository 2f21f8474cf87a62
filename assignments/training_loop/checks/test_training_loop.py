"""Hidden checks for training_loop: train(model, inputs, labels, criterion, optimizer, epochs)."""

from __future__ import annotations

from typing import Any

import torch

from grader.checks import Failure, check, hints, seeded_randn
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
    return all(
        k in b and a[k].shape == b[k].shape and torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-5)
        for k in a
    )


def _same_losses(actual: list[Any], expected: list[float]) -> bool:
    return len(actual) == len(expected) and all(
        a is not None and abs(a - e) <= 1e-5 + 1e-4 * abs(e)
        for a, e in zip(actual, expected, strict=False)
    )


def _diagnose_calls(calls: list[str]) -> str:
    """A hint from the first epoch's calls, for the mistakes a call log alone reveals."""
    epoch = calls[: len(STEPS)]
    if "step" in epoch and "backward" in epoch and epoch.index("step") < epoch.index("backward"):
        return say("hint_step_first")
    if {"zero_grad", "backward", "step"} <= set(epoch) and epoch.index("backward") < epoch.index(
        "zero_grad"
    ) < epoch.index("step"):
        return say("hint_zero_grad_late")
    if "zero_grad" not in calls:
        return say("hint_no_zero_grad")
    if calls.count("step") == 2 * calls.count("backward") > 0:
        return say("hint_double_step")
    return ""


def _diagnose(observed, state, inputs, labels, criterion, optimizer, epochs) -> str:
    from_calls = _diagnose_calls(observed["calls"])
    if from_calls:
        return from_calls
    for variant, key in VARIANT_HINTS.items():
        losses, final = reference_loop(state, inputs, labels, criterion, optimizer, epochs, variant)
        if _same_state(observed["final_state"], final) and (
            variant != "loss_after_step" or _same_losses(observed.get("values", []), losses)
        ):
            return say(key)
    return ""


def _first_difference(actual: list[Any], expected: list[float]) -> str:
    for epoch, (a, e) in enumerate(zip(actual, expected, strict=False), start=1):
        if a is None or abs(a - e) > 1e-5 + 1e-4 * abs(e):
            return say("first_difference", epoch=epoch, actual=a, expected=e)
    return ""


def _regression_data(n: int = 32, features: int = 3):
    inputs = seeded_randn(n, features)
    labels = inputs @ seeded_randn(features, 1) + 0.5 + seeded_randn(n, 1, scale=0.05)
    return inputs, labels


def _classification_data(per_class: int = 20):
    centers = torch.tensor([[3.0, 0.0], [-3.0, 3.0], [-3.0, -3.0]])
    inputs = torch.cat([c + seeded_randn(per_class, 2, scale=0.7) for c in centers])
    labels = torch.arange(3).repeat_interleave(per_class)
    return inputs, labels


def _expect_list(observed: dict[str, Any], call: str, epochs: int) -> None:
    if "length" not in observed:
        raise Failure(
            say("not_a_list", call=call, kind=observed["returned_type"], epochs=epochs),
            say("not_floats_help"),
        )
    if observed["length"] != epochs:
        raise Failure(
            say("wrong_length", call=call, length=observed["length"], epochs=epochs),
            say("wrong_length_help"),
        )


def _expect_list_of_floats(observed: dict[str, Any], call: str, epochs: int) -> None:
    _expect_list(observed, call, epochs)
    kinds = sorted(set(observed["item_types"]))
    if kinds != ["float"]:
        raise Failure(say("not_floats", call=call, kind=", ".join(kinds)), say("not_floats_help"))


def _run_train(probe, optimizer, epochs, inputs, labels, state, criterion="MSELoss"):
    """Run the student's train() on an nn.Linear in `state`; return the observation and call."""
    call = _call(optimizer, criterion, epochs)
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


@check(points=2, category="api")
def test_returns_list_of_floats(probe):
    """train returns a list with one Python float per epoch."""
    epochs = 5
    optimizer = {"name": "SGD", "lr": 0.05}
    inputs, labels = _regression_data()
    observed, call = _run_train(probe, optimizer, epochs, inputs, labels, _initial_state(3, 1))
    _expect_list_of_floats(observed, call, epochs)


@check(points=2, category="values")
def test_matches_standard_loop_sgd_momentum(probe):
    """With SGD and momentum, the losses and final parameters match the standard loop."""
    _expect_canonical(probe, {"name": "SGD", "lr": 0.05, "momentum": 0.9})


@check(points=2, category="values", visibility="hidden")
def test_matches_standard_loop_adam(probe):
    """With Adam, the losses and final parameters match the standard loop."""
    _expect_canonical(probe, {"name": "Adam", "lr": 0.05})


@check(points=1, category="values")
def test_call_order(probe):
    """Each epoch calls zero_grad, forward, criterion, backward and step, in that order."""
    epochs = 3
    optimizer = {"name": "SGD", "lr": 0.05}
    inputs, labels = _regression_data()
    observed, call = _run_train(probe, optimizer, epochs, inputs, labels, _initial_state(3, 1))
    calls = observed["calls"]
    if not calls:
        raise Failure(say("no_calls", call=call), say("call_order_help"))
    expected = list(STEPS) * epochs
    help = _diagnose_calls(calls) or say("call_order_help")
    if len(calls) % len(STEPS) == 0 and calls == list(STEPS) * (len(calls) // len(STEPS)):
        help = say("wrong_length_help")
    if calls != expected:
        for epoch in range(max(len(calls), len(expected)) // len(STEPS) + 1):
            got = calls[epoch * 5 : (epoch + 1) * 5]
            want = expected[epoch * 5 : (epoch + 1) * 5]
            if got != want:
                raise Failure(
                    say(
                        "call_order",
                        epoch=epoch + 1,
                        actual=", ".join(got),
                        expected=", ".join(want),
                    ),
                    help,
                )


@check(points=1.5, category="convergence")
def test_regression_with_mse_converges(probe):
    """Linear regression with MSELoss and SGD reaches a small loss."""
    epochs, limit = 150, 0.05
    inputs, labels = _regression_data(64)
    optimizer = {"name": "SGD", "lr": 0.1, "momentum": 0.5}
    observed, call = _run_train(probe, optimizer, epochs, inputs, labels, _initial_state(3, 1))
    state = observed["final_state"]
    loss = float(torch.nn.functional.mse_loss(inputs @ state["weight"].T + state["bias"], labels))
    if not loss < limit:
        raise Failure(
            say("not_converged_mse", task=call, epochs=epochs, value=loss, limit=limit),
            _diagnose_calls(observed["calls"]) or say("loop_help"),
        )


@check(points=1.5, category="convergence")
def test_classification_with_cross_entropy_converges(probe):
    """Three-class classification with CrossEntropyLoss and Adam reaches high accuracy."""
    epochs, limit = 100, 0.95
    inputs, labels = _classification_data()
    optimizer = {"name": "Adam", "lr": 0.1}
    with hints({"log_softmax": say("criterion_order_help"), "Long": say("criterion_order_help")}):
        observed, call = _run_train(
            probe, optimizer, epochs, inputs, labels, _initial_state(2, 3), "CrossEntropyLoss"
        )
    state = observed["final_state"]
    logits = inputs @ state["weight"].T + state["bias"]
    accuracy = float((logits.argmax(dim=1) == labels).float().mean())
    if not accuracy >= limit:
        raise Failure(
            say("not_converged_accuracy", task=call, epochs=epochs, value=accuracy, limit=limit),
            _diagnose_calls(observed["calls"]) or say("loop_help"),
        )
