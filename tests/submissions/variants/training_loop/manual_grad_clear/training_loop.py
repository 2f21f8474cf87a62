"""A correct training loop in the style: manual grad clear.

"""

def train(model, inputs, labels, criterion, optimizer, epochs):
    """Clears the gradients by hand instead of calling zero_grad()."""
    losses = []
    for epoch in range(epochs):
        for parameter in model.parameters():
            parameter.grad = None
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
