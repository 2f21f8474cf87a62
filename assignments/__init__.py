"""Assignment folders: spec, probes (sandbox side), checks (judge side) and mutants."""
