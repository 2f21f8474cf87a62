"""train takes its arguments in another order (model, optimizer, criterion, inputs, labels, epochs).

clauses: train-signature
catches: api, values, convergence
hint: positionally, in that order
"""


def train(model, optimizer, criterion, inputs, labels, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
