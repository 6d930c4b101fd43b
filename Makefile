# The two commands of the contract: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= out/demo

.PHONY: setup demo test lint typecheck docs unit bench peers lock clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23"
	# torch is pinned to 2.13.0 (a CPU build); a looser pin can pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	# compat mode: a plain .pth path entry, not an import hook that every process in the
	# venv (measured ones included) would pay ~20 ms to load.
	# frameworks: lightning + transformers for the framework scenarios (~30 s, ~250 MB)
	$(BIN)/python -m pip install --quiet -e ".[dev,frameworks]" --config-settings editable_mode=compat
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/ttfb demo --out-dir $(DEMO_OUT)

lint: $(STAMP)
	$(BIN)/ruff check bot tests examples benchmarks action.py
	$(BIN)/ruff format --check bot tests examples benchmarks action.py
	# GitHub Actions security lint, offline: any finding of medium severity or above fails
	$(BIN)/zizmor --offline --min-severity medium --no-progress .github/workflows action.yml

typecheck: $(STAMP)
	$(BIN)/mypy

# The docs site: every page and link checked (--strict); the result lands in out/docs-site
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir out/docs-site

# Two lanes: tests that judge wall time of real processes (marker 'timing') run alone, one
# process with nothing beside it on the CPUs; then the rest on two workers, each module on one
# worker so its module-scoped fixtures (example repos, recorded histories) are built once.
# Both lanes always run; either one failing fails the target.
unit: $(STAMP)
	$(BIN)/python -m pytest -q -p no:xdist -m timing; timing=$$?; \
	$(BIN)/python -m pytest -q -n 2 --dist loadscope -m "not timing"; rest=$$?; \
	test $$timing -eq 0 && test $$rest -eq 0

test: lint typecheck docs unit

bench: $(STAMP)
	$(BIN)/python benchmarks/probe_overhead.py

# asv and pyperf go into out/peers-venv, never into the project's environment
peers: $(STAMP)
	$(BIN)/python benchmarks/vs_peers.py

# The action's own dependencies, hash-pinned for `pip install --require-hashes`
lock: $(STAMP)
	$(BIN)/uv pip compile requirements/action.in --universal --python-version 3.10 \
		--generate-hashes --no-header -o requirements/action.txt

clean:
	rm -rf $(VENV) out .ttfb .pytest_cache .mypy_cache .ruff_cache
