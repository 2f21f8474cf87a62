"""The one tolerance policy: equivalent formulations land inside it, known mistakes do not.

Every alternative here is a real computation a student might write, run in float32 the way
student code runs, against the formulation the checks use.
"""

from __future__ import annotations

import pytest
import torch

from grader import tolerance
from grader.checks import Failure, expect_close


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


def _randn(generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=generator)


def test_policy_per_dtype_and_kind():
    assert tolerance.policy("values", torch.float32) == tolerance.Tolerance(1e-5, 1e-5)
    assert tolerance.policy("gradients", torch.float32).rtol == 1e-4
    assert tolerance.policy("values", torch.float64).rtol < tolerance.policy("values").rtol
    assert tolerance.policy("parameters", torch.float32, steps=10).rtol == pytest.approx(1e-4)
    assert tolerance.policy("parameters", torch.float32, steps=10**6).rtol == pytest.approx(1e-3)
    assert tolerance.policy("values", torch.int64) == tolerance.Tolerance(0.0, 0.0)
    assert tolerance.resolve("values", torch.float32, rtol=0.5).rtol == 0.5
    with pytest.raises(ValueError, match="kind"):
        tolerance.policy("speed")


def test_linear_layer_formulations_are_equivalent(generator):
    x, w, b = _randn(generator, 64, 256), _randn(generator, 256, 32), _randn(generator, 32)
    expected = x @ w + b
    alternatives = {
        "addmm": torch.addmm(b, x, w),
        "einsum": torch.einsum("bi,io->bo", x, w) + b,
        "broadcast-sum": (x.unsqueeze(-1) * w).sum(dim=1) + b,
        "linear": torch.nn.functional.linear(x, w.T, b),
        "transposed": (w.T @ x.T).T + b,
        "float64 then back": (x.double() @ w.double() + b.double()).float(),
    }
    for name, value in alternatives.items():
        assert tolerance.is_close(value, expected), name
        expect_close(value, expected, f"{name}(x)")


def test_summation_orders_are_equivalent(generator):
    values = _randn(generator, 4096) * 10
    expected = values.sum()
    reversed_sum = values.flip(0).sum()
    pairwise = values.reshape(64, 64).sum(dim=0).sum()
    running = torch.zeros(())
    for chunk in values.split(97):
        running = running + chunk.sum()
    for name, value in {"reversed": reversed_sum, "pairwise": pairwise, "chunks": running}.items():
        assert tolerance.is_close(value, expected, "losses", rtol=None), name


def test_mean_formulations_and_hand_written_gradients(generator):
    dim, m = 20, 500
    x, y = _randn(generator, dim, m), (_randn(generator, 1, m) > 0).float()
    w = _randn(generator, dim, 1) * 0.1
    yhat = torch.sigmoid(w.T @ x)
    loss_mean = torch.nn.functional.binary_cross_entropy(yhat, y)
    loss_sum = -(y * yhat.log() + (1 - y) * (1 - yhat).log()).sum() / m
    assert tolerance.is_close(loss_sum, loss_mean, "losses")
    # The hand-written gradient (1/m) x (yhat - y)^T against autograd's, in float32.
    leaf = w.clone().requires_grad_()
    torch.nn.functional.binary_cross_entropy(torch.sigmoid(leaf.T @ x), y).backward()
    by_hand = (x @ (yhat - y).T) / m
    by_hand_loop = sum(x[:, i : i + 1] * (yhat - y)[0, i] for i in range(m)) / m
    assert tolerance.is_close(by_hand, leaf.grad, "gradients")
    assert tolerance.is_close(by_hand_loop, leaf.grad, "gradients")


def test_parameters_after_steps_of_two_equivalent_updates(generator):
    p1 = _randn(generator, 50)
    p2 = p1.clone()
    grads = [_randn(generator, 50) for _ in range(30)]
    buf1 = buf2 = None
    for grad in grads:
        buf1 = grad.clone() if buf1 is None else 0.9 * buf1 + grad
        p1 -= 0.1 * buf1
        buf2 = grad.clone() if buf2 is None else buf2.mul(0.9).add(grad)
        p2.add_(buf2, alpha=-0.1)
    assert tolerance.is_close(p2, p1, "parameters", steps=30)


def test_known_mistakes_stay_outside(generator):
    x, w, b = _randn(generator, 64, 16), _randn(generator, 16, 8), _randn(generator, 8)
    expected = x @ w + b
    m = x.shape[0]
    for mistake in (x @ w, -expected, m * expected, expected / m, x @ w + 2 * b):
        assert not tolerance.is_close(mistake, expected)
        with pytest.raises(Failure):
            expect_close(mistake, expected, "layer(x)")
    assert not tolerance.is_close(expected * 1.001, expected)
