"""`loss.backward` is written without parentheses: no gradient is ever computed.

clauses: call-order
catches: values, convergence
hint: call `loss.backward()`
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward
        optimizer.step()
        losses.append(loss.item())
    return losses
