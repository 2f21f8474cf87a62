"""Hostile, on top of a wrong solution (zero_grad is never called): it ends the process with
os._exit while being imported."""

import os

os._exit(0)


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
