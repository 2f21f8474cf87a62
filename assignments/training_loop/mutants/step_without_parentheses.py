"""`optimizer.step` is written without parentheses: the parameters never change.

clauses: call-order
catches: values, convergence
hint: The parameters never changed
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step
        losses.append(loss.item())
    return losses
