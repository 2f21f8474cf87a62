"""Correct variant: torch.add(..., alpha=) and copy_, momentum given as an int default."""

from collections.abc import Iterable

import torch


class MySGD:
    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float = 0) -> None:
        self.params: list[torch.Tensor] = list(params)
        self.lr = lr
        self.momentum = momentum
        self.momentum_buffer: list[torch.Tensor | None] = [None] * len(self.params)

    def zero_grad(self) -> None:
        for param in self.params:
            param.grad = None

    def _direction(self, index: int, grad: torch.Tensor) -> torch.Tensor:
        if not self.momentum:
            return grad
        previous = self.momentum_buffer[index]
        if previous is None:
            current = grad.clone()
        else:
            current = torch.add(grad, previous, alpha=self.momentum)
        self.momentum_buffer[index] = current
        return current

    def step(self) -> None:
        with torch.no_grad():
            for index, param in enumerate(self.params):
                if param.grad is not None:
                    direction = self._direction(index, param.grad)
                    param.copy_(torch.add(param, direction, alpha=-self.lr))

    def __repr__(self) -> str:
        return f"MySGD(lr={self.lr}, momentum={self.momentum})"
