"""Reference solution: the standard full-batch PyTorch training loop."""


def train(model, inputs, labels, criterion, optimizer, epochs):
    """Train `model` on the whole batch for `epochs` epochs.

    Returns a list with one Python float per epoch: the loss measured at the start
    of that epoch, before the optimizer updates the parameters.
    """
    losses = []
    for epoch in range(epochs):
        # 1. Clear the gradients left over from the previous epoch;
        #    otherwise .backward() would add the new gradients to the old ones.
        optimizer.zero_grad()

        # 2. Forward pass and loss. The criterion takes (prediction, target).
        outputs = model(inputs)
        loss = criterion(outputs, labels)

        # 3. Backward pass: fills p.grad for every parameter p.
        loss.backward()

        # 4. Update the parameters with the gradients just computed.
        optimizer.step()

        # .item() turns the 0-dim loss tensor into a plain float (and drops the graph).
        losses.append(loss.item())
    return losses
