"""Each loss is recorded with loss.detach(), which is still a tensor.

clauses: returns-floats
catches: api
hint: is still a tensor
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return losses
