"""Everything that runs or fences student code: the zygote, staging, the protections,
the Linux bindings and the wire format. Nothing here imports a check or decides a verdict."""
