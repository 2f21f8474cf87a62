"""torchgrade: a sandboxed autograder for PyTorch exercises."""

__version__ = "0.1.0"
