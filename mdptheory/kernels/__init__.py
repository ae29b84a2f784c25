"""Numba kernels: plain float64/int64 arrays in, results written into ``*_out`` arguments,
no validation (callers go through :mod:`mdptheory.solvers`). Not part of the top-level API.

Cache guard. The kernels are compiled with ``cache=True``, and numba keys a function's cache
on its own source file only. A compiled loop inlines helpers from other modules (e.g.
:mod:`mdptheory.kernels.ucbvi_loop` inlines the exact-regret tally of
:mod:`mdptheory.kernels.online`), so after an edit of ``online.py`` alone the cached loop would
still run the old helper. On import, :func:`_guard_numba_cache` compares a digest of every
kernel source with the one the cache was built from and, when they differ, drops this
package's cached machine code, so everything recompiles from the current sources.
"""
import hashlib
from pathlib import Path

_DIGEST_FILE = "kernel_sources.sha256"


def _guard_numba_cache(folder: Path = Path(__file__).parent) -> bool:
    """Drop ``folder/__pycache__/*.nbi|*.nbc`` if the kernel sources changed since they were
    written; returns True if it dropped them. Read-only installs and races between processes
    are tolerated (at worst a kernel is compiled again)."""
    digest = hashlib.sha256()
    for src in sorted(folder.glob("*.py")):
        digest.update(src.name.encode())
        digest.update(src.read_bytes())
    current = digest.hexdigest()
    cache = folder / "__pycache__"
    stamp = cache / _DIGEST_FILE
    try:
        if stamp.read_text() == current:
            return False
    except OSError:
        pass
    dropped = False
    try:
        for f in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            try:
                f.unlink()
                dropped = True
            except FileNotFoundError:
                pass
        cache.mkdir(exist_ok=True)
        stamp.write_text(current)
    except OSError:
        pass
    return dropped


_guard_numba_cache()
