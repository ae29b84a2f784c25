# Every target creates .venv on first use; nothing needs to be installed by hand.
#
# Installs are pinned: constraints.txt holds the exact version of every package of a fresh
# install of the extras in PINNED_EXTRAS (pip, setuptools and wheel included), so a new release
# of a dependency cannot change `make test` overnight. `pip install mdptheory` itself keeps the
# ranges of pyproject.toml. After adding a dependency (or to move to newer releases on
# purpose), run `make constraints` and review the diff of constraints.txt.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CONSTRAINTS := constraints.txt
PINNED_EXTRAS := dev,distributed
# the project builds with the venv's pinned setuptools: no unpinned build environment
PIP_INSTALL := $(PY) -m pip install -c $(CONSTRAINTS) --no-build-isolation
THREADS := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PYTEST := $(PY) -m pytest -q -p no:cacheprovider

.PHONY: test fuzz demo bench check docs constraints clean

$(VENV)/.base: $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -c $(CONSTRAINTS) pip setuptools wheel
	touch $@

# make demo: the package alone (no Ray, no test tools)
$(VENV)/.demo: $(VENV)/.base pyproject.toml setup.py
	$(PIP_INSTALL) -e .
	touch $@

# make test / fuzz / check: the package with the dev and distributed extras
$(VENV)/.test: $(VENV)/.base pyproject.toml setup.py
	$(PIP_INSTALL) -e '.[dev,distributed]'
	touch $@ $(VENV)/.demo

$(VENV)/.bench: $(VENV)/.test
	$(PIP_INSTALL) -e '.[dev,bench]'
	touch $@

test: $(VENV)/.test
	$(THREADS) $(PYTEST) --durations=15

# The property tests (marked `property`) and the proof checks with random seeds and
# FUZZ_FACTOR (default 20) times the examples; a failure found becomes an @example regression.
fuzz: $(VENV)/.test
	$(THREADS) MDPTHEORY_HYPOTHESIS_PROFILE=fuzz $(PYTEST) -m property tests
	$(THREADS) MDPTHEORY_HYPOTHESIS_PROFILE=fuzz $(PYTEST) proofs_check

# SMALL sizes of every experiment into results/ (ignored by git), report in results/REPORT.md
demo: $(VENV)/.demo
	$(THREADS) $(PY) -m mdptheory.demo

bench: $(VENV)/.bench
	$(PYTEST) benchmarks --benchmark-enable --benchmark-only \
		--benchmark-columns=min,median,mean,rounds

docs: $(VENV)/.test
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

check: $(VENV)/.test
	$(THREADS) $(VENV)/bin/mdptheory check

# Re-pin: a fresh venv, the latest releases pyproject.toml allows, frozen into constraints.txt.
constraints:
	rm -rf .constraints-venv
	$(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/python -m pip install --upgrade pip setuptools wheel
	.constraints-venv/bin/python -m pip install '.[$(PINNED_EXTRAS)]'
	{ echo "# Exact versions for make test/demo/check: regenerate with \`make constraints\`."; \
	  echo "# Python $$(.constraints-venv/bin/python -c 'import sys; print(sys.version.split()[0])'), extras [$(PINNED_EXTRAS)]."; \
	  .constraints-venv/bin/python -m pip freeze --all --exclude mdptheory; } > $(CONSTRAINTS)
	rm -rf .constraints-venv build

clean:
	rm -rf $(VENV) build site *.egg-info .constraints-venv
