"""train hard-codes nn.MSELoss() instead of the criterion it is given.

clauses: any-criterion
catches: values, convergence
hint: criterion you were given was never called
"""

from torch import nn


def train(model, inputs, labels, criterion, optimizer, epochs):
    loss_fn = nn.MSELoss()
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = loss_fn(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
