"""A correct training loop in the style: trainer class wrapper.

permits: model-zero-grad-ok
"""

import torch
from torch import nn


class Trainer:
    """Keeps the pieces together; the loop itself is the standard one."""

    def __init__(self, model, criterion, optimizer):
        self.net = nn.Sequential(model)
        self.criterion = criterion
        self.optimizer = optimizer

    def epoch(self, inputs, labels):
        self.optimizer.zero_grad()
        model = self.net[0]
        model.zero_grad()
        with torch.enable_grad():
            outputs = self.net(inputs)
            loss = self.criterion(outputs, labels)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def train(model, inputs, labels, criterion, optimizer, epochs):
    trainer = Trainer(model, criterion, optimizer)
    losses = []
    for _ in range(epochs):
        losses.append(trainer.epoch(inputs, labels))
    return losses
