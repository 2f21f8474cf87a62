"""train builds its own SGD optimizer instead of using the one it is given.

clauses: any-optimizer
catches: values
hint: not through the `optimizer` argument
"""

import torch


def train(model, inputs, labels, criterion, optimizer, epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
