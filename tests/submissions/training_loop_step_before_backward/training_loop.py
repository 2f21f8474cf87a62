"""Bug: optimizer.step() is called before loss.backward(), so each step sees no gradients."""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        optimizer.step()
        loss.backward()
        losses.append(loss.item())
    return losses
