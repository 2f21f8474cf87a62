"""Bug: the file calls sys.exit(3) at import time (leftover script code), before train can be used."""

import sys


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


sys.exit(3)
