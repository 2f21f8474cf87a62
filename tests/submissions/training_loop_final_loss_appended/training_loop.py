"""After the loop, the loss of the trained model is appended as one loss more."""

def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    # also record the loss of the trained model
    losses.append(criterion(model(inputs), labels).item())
    return losses
