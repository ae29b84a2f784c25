"""The numba cache guard drops cached machine code when any kernel source changed (a compiled
loop inlines helpers of other modules, whose edits numba's own per-file check misses)."""
from mdptheory.kernels import _guard_numba_cache


def test_cache_is_dropped_after_a_source_edit_and_kept_otherwise(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    (cache / "a.f-1.py311.nbi").write_bytes(b"index")
    (cache / "a.f-1.py311.1.nbc").write_bytes(b"code")
    assert _guard_numba_cache(tmp_path)              # no stamp yet: unknown sources, dropped
    assert not list(cache.glob("*.nb?"))
    (cache / "a.f-1.py311.nbi").write_bytes(b"index")
    assert not _guard_numba_cache(tmp_path)          # same sources: the cache is kept
    assert (cache / "a.f-1.py311.nbi").exists()
    (tmp_path / "b.py").write_text("y = 3\n")        # another module edited
    assert _guard_numba_cache(tmp_path)
    assert not (cache / "a.f-1.py311.nbi").exists()
    assert not _guard_numba_cache(tmp_path)


def test_guard_creates_a_missing_cache_folder_and_stamps_it(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    assert not _guard_numba_cache(tmp_path)          # nothing to drop; stamp written
    assert (tmp_path / "__pycache__" / "kernel_sources.sha256").is_file()
