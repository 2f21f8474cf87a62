"""A student who calls model.forward, clears with model.zero_grad() and uses float(loss).

permits: model-zero-grad-ok
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    history = []
    for _ in range(epochs):
        model.zero_grad()
        predictions = model.forward(inputs)
        loss = criterion(predictions, labels)
        loss.backward()
        optimizer.step()
        history.append(float(loss))
    return history
