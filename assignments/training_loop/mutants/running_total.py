"""The recorded value is the running total of the losses, not each epoch's loss.

clauses: returns-list
catches: values
hint: running total
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    total = 0.0
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        total += loss.item()
        losses.append(total)
    return losses
