# Every target creates .venv on first use; nothing needs to be installed by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo bench check docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[dev,distributed]'
	touch $(STAMP)

$(VENV)/.bench: $(STAMP)
	$(PY) -m pip install -e '.[dev,bench]'
	touch $(VENV)/.bench

test: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q -p no:cacheprovider --durations=15

demo: $(STAMP)
	$(PY) -m mdptheory.demo

bench: $(VENV)/.bench
	$(PY) -m pytest benchmarks --benchmark-enable --benchmark-only -p no:cacheprovider --benchmark-columns=min,median,mean,rounds

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

check: $(STAMP)
	$(VENV)/bin/mdptheory check

clean:
	rm -rf $(VENV) build site *.egg-info
