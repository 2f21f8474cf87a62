"""optimizer.zero_grad() is called between backward and step, so step sees no gradients.

clauses: call-order
catches: values, convergence
hint: `zero_grad()` runs between `backward()` and `step()`
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        losses.append(loss.item())
    return losses
