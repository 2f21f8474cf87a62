"""`optimizer.zero_grad` is written without parentheses, so it never runs and gradients accumulate.

clauses: call-order
catches: values, convergence
hint: without `()` does nothing
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
