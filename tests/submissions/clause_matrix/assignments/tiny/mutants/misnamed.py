"""The function's name has a typo.

catches: api, values
clauses: defines-double
hint: a typo?
"""


def duble(x):
    return 2 * x
