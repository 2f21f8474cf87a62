"""train returns only the last epoch's loss, a single float.

clauses: returns-list
catches: api, values
hint: returned one number
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
    return loss.item()
