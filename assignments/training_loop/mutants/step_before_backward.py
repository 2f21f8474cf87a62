"""optimizer.step() is called before loss.backward(), so every step runs without gradients.

clauses: call-order
catches: values, convergence
hint: must come after `loss.backward()`
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        optimizer.step()
        loss.backward()
        losses.append(loss.item())
    return losses
