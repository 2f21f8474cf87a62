"""Converts to float64.

catches: values
clauses: keeps-dtype
hint: Keep float32
"""


def double(x):
    return (2 * x).double()
