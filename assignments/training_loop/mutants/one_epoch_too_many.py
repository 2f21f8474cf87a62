"""The loop runs range(epochs + 1), one epoch too many.

clauses: epochs-count, returns-list
catches: api, values
hint: more epochs than
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs + 1):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
