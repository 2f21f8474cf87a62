"""The loss tensors are appended to the list instead of Python floats.

clauses: returns-floats
catches: api
hint: keeps the whole graph alive
"""


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
