"""The naive baseline: how classroom Python graders usually run.

A plain pytest file that imports the student's modules directly from the folder named by
$SUBMISSION, with no sandbox, no timeout and no isolation, run as one process per submission.
It checks roughly what the real checks check. Only `benchmarks/run.py` uses it.
"""

import os
import sys

import pytest
import torch

sys.path.insert(0, os.environ["SUBMISSION"])


def test_my_linear_forward_and_backward():
    from my_linear import MyLinear

    torch.manual_seed(0)
    layer = MyLinear(3, 2)
    x = torch.randn(4, 3)
    out = layer(x)
    torch.testing.assert_close(out, x @ layer.weights + layer.bias)
    out.sum().backward()
    torch.testing.assert_close(layer.weights.grad, x.sum(0, keepdim=True).T.expand(3, 2))
    torch.testing.assert_close(layer.bias.grad, torch.full((2,), 4.0))


def test_my_linear_without_bias():
    from my_linear import MyLinear

    layer = MyLinear(3, 2, bias=False)
    assert [name for name, _ in layer.named_parameters()] == ["weights"]


def _standard(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize(
    "make",
    [lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), lambda p: torch.optim.Adam(p, lr=0.05)],
)
def test_training_loop_matches_the_standard_loop(make):
    from training_loop import train

    torch.manual_seed(0)
    inputs, labels = torch.randn(16, 3), torch.randn(16, 1)
    theirs, ours = torch.nn.Linear(3, 1), torch.nn.Linear(3, 1)
    ours.load_state_dict(theirs.state_dict())
    got = train(theirs, inputs, labels, torch.nn.MSELoss(), make(theirs.parameters()), 20)
    want = _standard(ours, inputs, labels, torch.nn.MSELoss(), make(ours.parameters()), 20)
    torch.testing.assert_close(torch.tensor(got), torch.tensor(want))


def test_scratch_lr_forward_backward_optimize():
    from scratch_lr import LR

    torch.manual_seed(0)
    x, y = torch.randn(3, 8), (torch.rand(1, 8) > 0.5).float()
    model = LR(3, lr=torch.scalar_tensor(0.5))
    model.w, model.b = torch.randn(3, 1), torch.scalar_tensor(0.1)
    yhat = model.forward(x)
    torch.testing.assert_close(yhat, torch.sigmoid(model.w.T @ x + model.b))
    model.backward(x, yhat, y)
    torch.testing.assert_close(model.grads["dw"], x @ (yhat - y).T / 8)
    torch.testing.assert_close(model.grads["db"], (yhat - y).sum() / 8)
    w = model.w.clone()
    model.optimize()
    torch.testing.assert_close(model.w, w - 0.5 * model.grads["dw"])
