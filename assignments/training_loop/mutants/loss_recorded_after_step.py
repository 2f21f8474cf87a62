"""The recorded loss is recomputed after optimizer.step(), so it is the next epoch's loss.

clauses: loss-before-update
catches: values
hint: Record the loss computed in this epoch's forward pass
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(criterion(model(inputs), labels).item())
    return losses
