"""The loss is turned into a float with .item() before backward, so backward fails.

clauses: call-order
catches: api, values, convergence
hint: Keep `loss` a tensor
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels).item()
        loss.backward()
        optimizer.step()
        losses.append(loss)
    return losses
