"""Bug: the loss tensors themselves are returned instead of Python floats."""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss)
    return losses
