"""The forward pass runs under torch.no_grad(), so the loss has no gradient.

clauses: call-order
catches: api, values, convergence
hint: torch.no_grad()
"""

import torch


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        with torch.no_grad():
            outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
