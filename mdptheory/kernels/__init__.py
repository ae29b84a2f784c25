"""Numba kernels: plain float64/int64 arrays in, results written into ``*_out`` arguments,
no validation (callers go through :mod:`mdptheory.solvers`). Not part of the top-level API."""
