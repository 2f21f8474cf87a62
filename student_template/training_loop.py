"""Assignment 2: the training loop.

Write the standard full-batch PyTorch training loop.
Replace the `raise NotImplementedError(...)` below with your code.
"""

import torch
from torch import nn


def train(model, inputs, labels, criterion, optimizer, epochs):
    # TODO: repeat `epochs` times, in this order:
    #    1. optimizer.zero_grad()            clear the gradients of the previous epoch
    #    2. outputs = model(inputs)          forward pass on the whole batch
    #    3. loss = criterion(outputs, labels)   prediction first, target second
    #    4. loss.backward()                  compute the gradients
    #    5. optimizer.step()                 update the parameters
    #  Record each epoch's loss as a plain Python float (loss.item()), not as a tensor.
    #  Return the list of `epochs` floats. Each one is the loss measured before that
    #  epoch's update.
    #  The loop must work with any optimizer (SGD with momentum, Adam, ...) and any
    #  criterion (MSELoss, CrossEntropyLoss, ...).
    raise NotImplementedError("TODO: train is not implemented yet")
