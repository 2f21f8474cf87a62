"""A correct training loop in the style: autograd backward typed.

"""

from __future__ import annotations

import torch
from torch import nn


def train(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    criterion: nn.Module,
    optimizer: torch.optim.Optimizer,
    epochs: int,
) -> list[float]:
    """Full-batch training; returns the loss of every epoch."""
    losses: list[float] = []
    for epoch in range(epochs):
        optimizer.zero_grad(set_to_none=False)
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        torch.autograd.backward(loss)
        optimizer.step()
        losses.append(loss.detach().cpu().item())
    return losses
