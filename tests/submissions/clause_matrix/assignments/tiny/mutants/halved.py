"""Returns x unchanged: half of what is asked.

catches: values
clauses: returns-2x
hint: times 1/2
"""


def double(x):
    return x.clone()
