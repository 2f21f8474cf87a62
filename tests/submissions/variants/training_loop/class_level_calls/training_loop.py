"""A correct training loop in the style: class level calls.

"""

import torch


def train(model, inputs, labels, criterion, optimizer, epochs):
    """Calls through the classes: the optimizer's own class methods and F.linear-free forward."""
    losses = []
    for epoch in range(epochs):
        type(optimizer).zero_grad(optimizer)
        outputs = type(model).forward(model, inputs)
        loss = criterion.forward(outputs, labels)
        loss.backward(retain_graph=False)
        type(optimizer).step(optimizer)
        losses.append(loss.item())
    return list(losses)
