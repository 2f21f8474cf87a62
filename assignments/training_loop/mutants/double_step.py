"""optimizer.step() is called twice per epoch.

clauses: once-per-epoch
catches: values
hint: steps twice per epoch
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        optimizer.step()
        losses.append(loss.item())
    return losses
