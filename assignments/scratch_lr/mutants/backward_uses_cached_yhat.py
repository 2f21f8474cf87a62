"""forward caches self.yhat and backward reads it instead of its yhat argument, so backward fails when it is called on its own.

clauses: backward-uses-yhat
catches: gradients
hint: which only forward sets
"""

import torch
from torch import nn


class LR(nn.Module):
    def __init__(self, dim, lr=torch.scalar_tensor(0.01)):
        super().__init__()
        # Plain tensors, not nn.Parameter: we compute the gradients ourselves,
        # so nothing here requires grad.
        self.w = torch.zeros(dim, 1)
        self.b = torch.scalar_tensor(0)
        self.grads = {"dw": torch.zeros(dim, 1), "db": torch.scalar_tensor(0)}
        self.lr = lr

    def sigmoid(self, z):
        # torch.sigmoid is elementwise and numerically stable:
        # it gives 0 or 1 (never NaN) even for very large |z|.
        return torch.sigmoid(z)

    def forward(self, x):
        # (1, dim) @ (dim, m) -> (1, m); the 0-dim b broadcasts over all samples.
        # Note: the lecture's snippet forgets "+ self.b"; the bias belongs here.
        z = self.w.T @ x + self.b
        self.yhat = self.sigmoid(z)
        return self.yhat

    def backward(self, x, yhat, y):
        # For the mean binary cross-entropy, dL/dz = (yhat - y) / m for each sample.
        m = x.shape[1]
        dz = self.yhat - y
        self.grads["dw"] = (1 / m) * (x @ dz.T)     # (dim, m) @ (m, 1) -> (dim, 1)
        self.grads["db"] = (1 / m) * torch.sum(dz)  # 0-dim, same as b

    def optimize(self):
        # One step of gradient descent: move against the gradient.
        self.w = self.w - self.lr * self.grads["dw"]
        self.b = self.b - self.lr * self.grads["db"]

    # ---- Convenience helpers (not graded) ------------------------------------

    def loss(self, yhat, y, eps=1e-7):
        """Mean binary cross-entropy, clamped so log(0) never happens."""
        yhat = yhat.clamp(eps, 1 - eps)
        return -(y * torch.log(yhat) + (1 - y) * torch.log(1 - yhat)).mean()

    def predict(self, x):
        """0/1 predictions of shape (1, m)."""
        return (self.forward(x) >= 0.5).float()

    def fit(self, x, y, iterations=1000):
        """Run `iterations` steps of full-batch gradient descent; return the loss history."""
        history = []
        for _ in range(iterations):
            yhat = self.forward(x)
            history.append(self.loss(yhat, y).item())
            self.backward(x, yhat, y)
            self.optimize()
        return history
