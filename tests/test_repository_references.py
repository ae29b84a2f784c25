"""The repository cites the papers and its own docs/ pages, never developer material that a
clone does not have (a `shared/` folder, specification files and their section tags)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("README.md", "docs", "mdptheory", "experiments", "proofs_check", "tests", "tools",
           "benchmarks", "Makefile", "pyproject.toml", "mkdocs.yml")
FORBIDDEN = re.compile(r"shared/|specs/|\bspec §|\bspec [A-Z]\.[0-9]|\bspec Part [A-Z]"
                       r"|\[V2\]|\[RECALL\]|\[DESIGN\]|\[COMPUTED\]")
SUFFIXES = {".py", ".md", ".toml", ".yml", ".cfg", ".txt", ""}


def _files():
    for name in FOLDERS:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for f in path.rglob("*"):
                if f.is_file() and f.suffix in SUFFIXES and "__pycache__" not in f.parts:
                    yield f


def test_no_reference_to_developer_material():
    here = Path(__file__).resolve()
    hits = []
    for f in _files():
        if f.resolve() == here:
            continue
        for i, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            if FORBIDDEN.search(line):
                hits.append(f"{f.relative_to(ROOT)}:{i}: {line.strip()[:90]}")
    assert not hits, "references to files outside the repository:\n" + "\n".join(hits)


def test_the_check_finds_a_planted_reference():
    assert FORBIDDEN.search("see shared/specs/x.md §3")
    assert FORBIDDEN.search("spec §3.5") and FORBIDDEN.search("[V2] item")
    assert not FORBIDDEN.search("importlib.util.module_from_spec(spec)")
