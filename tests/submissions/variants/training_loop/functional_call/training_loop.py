"""A correct training loop in the style: functional call.

"""

import torch


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(1, epochs + 1):
        optimizer.zero_grad()
        params = dict(model.named_parameters())
        outputs = torch.func.functional_call(model, params, (inputs,))
        loss = criterion(input=outputs, target=labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
