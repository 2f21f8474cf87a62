"""Output formats. Each is a pure function of the `Report`."""
