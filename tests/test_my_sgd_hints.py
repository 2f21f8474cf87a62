"""The my_sgd hint matrix, on the inputs the checks really use: every known mistake the checks
replay gives numbers no other known mistake gives, so a hint can only name the mistake made.

The check module is loaded from its file, as the judge does; nothing here grades a submission.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

CHECKS = Path(__file__).resolve().parent.parent / "assignments/my_sgd/checks/test_my_sgd.py"
SHAPES = [(3, 2), (2,), (4,)]
# (lr, momentum or None, shapes, steps, missing (step, index) pairs): one row per check.
SETTINGS = {
    "accepts_a_generator": (0.1, None, SHAPES, 3, set()),
    "step_without_momentum": (0.1, None, SHAPES, 2, set()),
    "momentum_matches_torch": (0.05, 0.9, SHAPES, 5, set()),
    "other_settings": (0.3, 0.5, [(2, 3, 2), (5,), (5,)], 7, set()),
    "skips_parameters_without_grad": (0.2, 0.9, SHAPES, 4, {(1, 1), (2, 1), (0, 2)}),
    "buffer_is_a_copy": (0.05, 0.8, SHAPES, 4, set()),
}
# Mistakes that share one hint, so they may coincide.
SAME_HINT = {frozenset({"dampened", "dampened_after_first"})}


@pytest.fixture(scope="module")
def checks():
    spec = importlib.util.spec_from_file_location("my_sgd_checks", CHECKS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _inputs(shapes, steps, missing):
    generator = torch.Generator().manual_seed(7)
    params = [torch.randn(*s, generator=generator) for s in shapes]
    grads = [
        [
            None if (k, i) in missing else torch.randn(*s, generator=generator)
            for i, s in enumerate(shapes)
        ]
        for k in range(steps)
    ]
    return params, grads


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_each_replayed_mistake_is_told_apart(checks, setting):
    lr, momentum, shapes, steps, missing = SETTINGS[setting]
    params, grads = _inputs(shapes, steps, missing)
    correct = checks.sgd_trajectory(params, grads, lr, momentum)
    replays = {
        mistake: checks.sgd_trajectory(params, grads, lr, momentum, mistake, 0.01)
        for mistake in checks.MISTAKES
        if mistake != "no_zero_grad"  # only replayed in training, where zero_grad runs
    }
    visible = {m: t for m, t in replays.items() if not checks._same_trajectory(t, correct)}
    assert visible, setting
    for a in visible:
        for b in visible:
            if a < b and frozenset({a, b}) not in SAME_HINT:
                assert not checks._same_trajectory(visible[a], visible[b]), (setting, a, b)
    for mistake, trajectory in visible.items():
        found = checks.trajectory_mistake(trajectory, params, grads, lr, momentum)
        if frozenset({found, mistake}) not in SAME_HINT:
            assert found == mistake, (setting, mistake, found)


def test_lr_equal_to_one_minus_momentum_would_make_two_mistakes_coincide(checks):
    """Why no check uses lr=0.1 with momentum=0.9: dampening then equals lr applied twice."""
    params, grads = _inputs(SHAPES, 5, set())
    dampened = checks.sgd_trajectory(params, grads, 0.1, 0.9, "dampened")
    lr_twice = checks.sgd_trajectory(params, grads, 0.1, 0.9, "lr_twice")
    assert checks._same_trajectory(dampened, lr_twice)


def test_a_mistake_seen_on_correct_numbers_is_one_that_gives_them(checks):
    """A replay equal to torch's at some setting (momentum mistakes without momentum) can match
    a correct trajectory, but then the check passes and shows no hint at all."""
    for lr, momentum, shapes, steps, missing in SETTINGS.values():
        params, grads = _inputs(shapes, steps, missing)
        correct = checks.sgd_trajectory(params, grads, lr, momentum)
        found = checks.trajectory_mistake(correct, params, grads, lr, momentum)
        if found:
            replay = checks.sgd_trajectory(params, grads, lr, momentum, found)
            assert checks._same_trajectory(replay, correct)
            assert all(
                torch.allclose(a, e, rtol=checks.RTOL, atol=checks.ATOL)
                for got, want in zip(replay, correct, strict=True)
                for a, e in zip(got, want, strict=True)
            )
