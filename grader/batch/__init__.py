"""Class-scale grading: the client, preloaded workers, Dask, archives and the gradebook.

It sits above the engine: the client never imports torch, and workers call `engine.grade`."""
