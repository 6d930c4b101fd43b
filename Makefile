# The two commands of the contract: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= out/demo

.PHONY: setup demo test lint typecheck docs unit durations bench peers lock clean

# uv installs what follows in ~30 s where pip takes ~60 s (a fresh machine, 2 cores); pip is
# the fallback. uv does not read pip's configuration, so pip's find-links (where a machine
# keeps wheels such as torch's CPU build) are handed over. --compile-bytecode: with
# PYTHONDONTWRITEBYTECODE set, a venv without .pyc files would compile torch on every import.
# torch is pinned to 2.13.0 (a CPU build); a looser pin can pull a multi-GB CUDA build.
# compat mode: a plain .pth path entry, not an import hook that every process in the
# venv (measured ones included) would pay ~20 ms to load.
# frameworks: lightning + transformers for the framework scenarios (~250 MB)
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@echo "installing into $(VENV) with uv (pip if uv fails)"
	@links="$${PIP_FIND_LINKS:-$$($(BIN)/python -m pip config get global.find-links 2>/dev/null)}"; \
	flags=""; for l in $$links; do flags="$$flags --find-links $$l"; done; \
	{ $(BIN)/python -m pip install --quiet "uv>=0.5" \
	  && $(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode $$flags \
	       "torch==2.13.0" -e ".[dev,frameworks]" -C editable_mode=compat; } \
	|| { echo "uv failed; installing with pip" >&2 \
	  && $(BIN)/python -m pip install --quiet --upgrade "pip>=23" \
	  && $(BIN)/python -m pip install --quiet "torch==2.13.0" -e ".[dev,frameworks]" \
	       --config-settings editable_mode=compat; }
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

# Three lanes. 'quiet' tests need idle CPUs (an A/A that must end no_change at its first look):
# they run first, alone. Then two lanes at once. 'timing' tests judge the wall time of real
# processes by a planted effect many times the noise (a 300 ms sleep found, an A/A not called
# a regression): one at a time, at normal priority. Beside them the rest run at the lowest
# priority (nice 19), so a timing test's process gets a core the moment it wakes; the timing
# lane is mostly asleep in its planted sleeps (24 CPU-s in 66 s alone), and running it beside
# the rest instead of before them saves most of its minute. The rest: three workers, each
# module on one worker so its module-scoped fixtures (example repos, recorded histories) are
# built once, the longest modules first (tests/durations.json; tests/conftest.py says why).
# Three workers on two cores: the processes these tests start wait (sleeps, pipes, timers)
# much of the time; two workers kept 1.5 of 2 cores busy (207 s), three 1.8 (167 s), four no
# better (167 s; later 209 s against three's 180 s). The timing lane's report is printed after
# the rest's (out/timing-lane.log while it runs). The quiet and timing lanes collect only the
# files that mark such a test.
# Every lane always runs; any one failing fails the target; Ctrl-C stops the timing lane too.
QUIET_FILES = $(shell grep -rlE --include='*.py' 'mark\.quiet' tests)
TIMING_FILES = $(shell grep -rlE --include='*.py' 'mark\.timing' tests)
REST = -n 3 --dist loadscope --no-loadscope-reorder -m "not timing and not quiet"
TIMING_LOG = out/timing-lane.log
# Targets run beside the timing and rest lanes at the lowest priority, once the quiet lane is
# done, their report printed last: `make test` puts typecheck and docs there (~8 s that would
# otherwise come first, taken in the time the lanes leave a core idle)
BESIDE ?=
# not written $(MAKE) in the recipe: make runs a recipe line that names $(MAKE) even under -n,
# and `make -n test` would run the whole suite instead of printing it
BESIDE_MAKE = $(MAKE) --no-print-directory
BESIDE_LOG = out/beside.log
# a lane with no file to collect is skipped (pytest would collect every test, then exit 5)
lane = $(if $(2),$(BIN)/python -m pytest -q -p no:xdist -m $(1) $(2),true)

unit: $(STAMP)
	$(call lane,quiet,$(QUIET_FILES)); quiet=$$?; \
	mkdir -p out; echo "timing lane: running beside the rest; its report follows theirs"; \
	$(call lane,timing,$(TIMING_FILES)) >$(TIMING_LOG) 2>&1 & \
	timing_pid=$$!; beside_pid=; \
	$(if $(BESIDE),nice -n 19 $(BESIDE_MAKE) $(BESIDE) >$(BESIDE_LOG) 2>&1 & beside_pid=$$!;) \
	trap 'kill -INT $$timing_pid 2>/dev/null; \
		test -z "$$beside_pid" || kill -TERM $$beside_pid 2>/dev/null' INT TERM EXIT; \
	nice -n 19 $(BIN)/python -m pytest -q $(REST); rest=$$?; \
	kill -0 $$timing_pid 2>/dev/null && echo "waiting for the timing lane (out/timing-lane.log)"; \
	wait $$timing_pid; timing=$$?; echo "--- timing lane ---"; cat $(TIMING_LOG); beside=0; \
	if [ -n "$$beside_pid" ]; then wait $$beside_pid; beside=$$?; \
		echo "--- $(BESIDE) (beside the lanes) ---"; cat $(BESIDE_LOG); fi; \
	test $$quiet -eq 0 && test $$timing -eq 0 && test $$rest -eq 0 && test $$beside -eq 0

# Records how long each test module takes, for the order above (commit the result)
durations: $(STAMP)
	$(BIN)/python -m pytest -q $(REST) --record-durations tests/durations.json

# lint first (under a second: the commonest failure shows at once), then typecheck and docs
# beside the unit lanes (see BESIDE); `make lint typecheck docs` runs them all alone
test: lint
	@$(MAKE) --no-print-directory unit BESIDE="typecheck docs"

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
