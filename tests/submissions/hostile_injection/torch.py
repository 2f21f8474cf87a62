"""Hostile: a module that shadows 'torch'; loading it would make every comparison pass."""

print("INJECTED torch.py")
import builtins

builtins.isinstance = lambda *args: True
