# peerlane -- build, test and dev tasks.  `make help` lists the targets.
#
# A fresh machine (Debian 12, python3 >= 3.11, node 20 + npm) needs nothing
# else: `make test` installs system packages (as root), the virtualenv and the
# npm dev tools, then runs lint, typecheck and the test suites.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
# Stamps: re-run an install only when its input file changed.
VENV_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

# Directories that exist (bench/ and tests/ may not yet).
LINT_PATHS := $(wildcard src tests bench scripts)
UNIT_DIRS  := $(wildcard tests/core tests/unit)
WEB_DIR    := src/peerlane/web

# Extra pytest options, e.g. `make integration PYTEST_ARGS="-k rooms -x"`.
PYTEST_ARGS ?=
# pytest-xdist workers for the (non-browser) suite; `XDIST=` disables it.
XDIST ?= -n auto
PYTEST := $(BIN)/python -m pytest
# In CI (CI=true) each pytest run gets a hard cap (seconds) so that a hang
# cannot eat CI's 90 minutes; timeout then signals pytest's whole process group
# (SIGINT first: pytest still prints its summary). Not used interactively,
# where it would keep Ctrl-C from reaching pytest.
# The browser stage (about 110 tests, each starting Chromium and often a terminal peer)
# gets a longer cap than the others.
TEST_TIMEOUT ?= 1500
E2E_TIMEOUT ?= 2400
ifneq ($(CI),)
PYTEST = timeout --signal=INT --kill-after=30 $(TEST_TIMEOUT) $(BIN)/python -m pytest
e2e: TEST_TIMEOUT = $(E2E_TIMEOUT)
endif

# `make run ARGS="--port 9000"`
ARGS ?=

.PHONY: help venv system-deps node-deps deps lint fmt typecheck unit integration \
        e2e netlab container jstest coverage test run bench clean clean-data

help: ## list targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-13s %s\n", $$1, $$2}'

# ---------------------------------------------------------------- setup ----

venv: $(VENV_STAMP) ## create .venv and install -e '.[dev]' (only when pyproject.toml changed)

$(VENV_STAMP): pyproject.toml
	@if ! $(BIN)/python -c 'import sys' >/dev/null 2>&1; then \
	  echo "==> creating $(VENV) with $$($(PYTHON) --version)"; \
	  rm -rf $(VENV); \
	  $(PYTHON) -m venv $(VENV); \
	fi
	@echo "==> installing peerlane[dev] into $(VENV)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

system-deps: ## apt-get install missing Debian packages (chromium, postgresql, redis, coturn, nginx, ...)
	@scripts/install-system-deps.sh

# The browser's packages are copied into web/vendor every time (29 small files): the stamp
# lives in node_modules, which worktrees share, while vendor/ is per checkout.
node-deps: $(NODE_STAMP) ## npm ci the dev tools and the browser's packages (copied into web/vendor)
	@$(PYTHON) scripts/vendor_web_packages.py

$(NODE_STAMP): package.json $(wildcard package-lock.json)
	@echo "==> installing npm dev tools"
	@if [ -f package-lock.json ]; then \
	  npm ci --no-audit --no-fund --loglevel=error; \
	else \
	  npm install --no-audit --no-fund --loglevel=error; \
	fi
	@touch $@

deps: system-deps venv node-deps ## all of the above

# ----------------------------------------------------------- code checks ----

# biome.json says which web files biome checks (the client and its node tests).
lint: venv node-deps ## ruff check + ruff format --check + biome check of the web client (all run; fails if any fails)
	@rc=0; \
	echo "$(BIN)/ruff check $(LINT_PATHS)"; $(BIN)/ruff check $(LINT_PATHS) || rc=1; \
	echo "$(BIN)/ruff format --check $(LINT_PATHS)"; $(BIN)/ruff format --check $(LINT_PATHS) || rc=1; \
	echo "node_modules/.bin/biome check"; node_modules/.bin/biome check || rc=1; \
	exit $$rc

fmt: venv node-deps ## ruff format + ruff check --fix + biome check --write
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)
	node_modules/.bin/biome check --write

# tsc exits with "No inputs were found" when there is no JS file at all; only
# that case is skipped (the web client is being written).
typecheck: venv node-deps ## mypy (strict, src/peerlane) + tsc --checkJs over src/peerlane/web (both run)
	@rc=0; \
	echo "$(BIN)/mypy"; $(BIN)/mypy || rc=1; \
	if [ -n "$$(find $(WEB_DIR) -name '*.js' -print -quit 2>/dev/null)" ]; then \
	  echo "node_modules/.bin/tsc -p tsconfig.json"; \
	  node_modules/.bin/tsc -p tsconfig.json || rc=1; \
	else \
	  echo "tsc: no .js files under $(WEB_DIR) yet -- skipped"; \
	fi; \
	exit $$rc

# ----------------------------------------------------------------- tests ----
#
# How the suites split:
#   unit         tests/core + tests/unit (whichever exist), no browser tests
#   integration  all of tests/ except browser tests (-m "not browser"); this
#                includes the unit tests, so `make test` runs it and not `unit`
#   e2e          only browser tests (-m browser), headless /usr/bin/chromium
#   container    tests/container (-m container): the image and the compose stack with
#                podman, as root; minutes, so a stage of its own
# e2e runs inside scripts/netns-run: WebRTC peers gather every interface's address,
# so the browsers get a private network namespace where nothing leaves the machine.

unit: venv ## fast tests: tests/core + tests/unit
	@if [ -z "$(UNIT_DIRS)" ]; then echo "unit: no tests/core or tests/unit yet"; exit 1; fi
	$(PYTEST) -m "not browser" $(UNIT_DIRS) $(PYTEST_ARGS)

# The sans-I/O core is fully covered by its own fast tests (no server, no event
# loop): every line and every branch. A `# pragma: no cover` needs a comment saying
# why the line cannot run.
COVERAGE_ARGS := --cov=peerlane.core --cov-branch --cov-fail-under=100 --cov-report=term-missing
coverage: venv ## tests/core with the coverage gate: 100 % of peerlane.core, lines and branches
	$(PYTEST) -p no:xdist tests/core $(COVERAGE_ARGS) $(PYTEST_ARGS)

jstest: node-deps ## browser-client logic tests (node --test, recording fakes, no browser)
	node --test tests/web/

integration: venv ## all non-browser, non-container tests (unit included), parallel with xdist
	$(PYTEST) -m "not browser and not container and not netlab" $(XDIST) tests $(PYTEST_ARGS)

e2e: venv node-deps ## browser tests in headless chromium, inside a private network namespace
	@rc=0; scripts/netns-run $(PYTEST) -m browser tests/e2e $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "e2e: no browser tests collected"; fi; \
	exit $$rc

# The network-scenario matrix (issue #11, tests/netlab): two Chromiums, each in its own
# network namespace behind a NAT / firewall the test builds with ip netns, veth, bridges
# and nftables, coturn and the server in a "public" namespace. Needs root: elsewhere it
# prints one skip line; with CI=true it fails instead of skipping. One at a time.
netlab: venv ## network-scenario matrix: browsers behind NATs/firewalls in namespaces, coturn (root)
	$(PYTEST) -m netlab -p no:xdist tests/netlab $(PYTEST_ARGS)

# One at a time (-p no:xdist): they share podman's image store and the two cores.
# system-deps: podman, runc, mmdebstrap, podman-compose, the dnsname plugin, and chromium
# for the compose test's browsers (one dpkg-query each when all are present).
container: system-deps venv ## container image + compose stack tests with podman (root; base image cached)
	$(PYTEST) -m container -p no:xdist tests/container $(PYTEST_ARGS)

# Runs every stage even when one fails, then fails if any failed. The container stage
# (podman builds: mostly downloads and disk) runs beside the browser stages instead of
# after them; its output is shown, whole, when it ends. Stage logs go to test-artifacts/;
# at the end, scripts/test_recap.py says why each failed stage failed (test and error).
TEST_STAGES := lint typecheck coverage jstest integration e2e netlab
BESIDE_STAGES := container
BESIDE_FROM := e2e
test: system-deps venv node-deps ## everything CI runs: lint, typecheck, coverage, jstest, integration, e2e, netlab, container
	@failed=""; mkdir -p test-artifacts; \
	for stage in $(TEST_STAGES); do \
	  if [ "$$stage" = "$(BESIDE_FROM)" ]; then \
	    for beside in $(BESIDE_STAGES); do \
	      echo "==> $$beside starts beside $$stage (output: test-artifacts/$$beside.log)"; \
	      ( start=$$SECONDS; if $(MAKE) $$beside > test-artifacts/$$beside.log 2>&1; then rc=0; else rc=1; fi; \
	        echo "$$rc $$((SECONDS - start))" > test-artifacts/$$beside.rc ) & \
	    done; \
	  fi; \
	  echo; echo "=================================== $$stage ==================================="; \
	  start=$$SECONDS; \
	  if $(MAKE) $$stage 2>&1 | tee test-artifacts/$$stage.log; then \
	    echo "--> $$stage OK ($$((SECONDS - start)) s)"; \
	  else \
	    echo "--> $$stage FAILED ($$((SECONDS - start)) s)"; failed="$$failed $$stage"; \
	  fi; \
	done; \
	wait; \
	for beside in $(BESIDE_STAGES); do \
	  echo; echo "=================================== $$beside (ran beside $(BESIDE_FROM)) ==================================="; \
	  cat test-artifacts/$$beside.log; \
	  read -r rc took < test-artifacts/$$beside.rc || { rc=1; took=?; }; \
	  if [ "$$rc" = 0 ]; then echo "--> $$beside OK ($$took s)"; \
	  else echo "--> $$beside FAILED ($$took s)"; failed="$$failed $$beside"; fi; \
	done; \
	echo; \
	if [ -n "$$failed" ]; then \
	  $(PYTHON) scripts/test_recap.py $$(for s in $$failed; do echo test-artifacts/$$s.log; done); \
	  echo; echo "make test: FAILED:$$failed"; exit 1; \
	fi; \
	echo "make test: all stages passed ($(TEST_STAGES) $(BESIDE_STAGES))"

# ------------------------------------------------------------------ misc ----

run: venv node-deps ## start the server: make run ARGS="--port 9000"
	$(BIN)/peerlane serve $(ARGS)

bench: venv ## benchmarks (bench/run_all.py, else every bench/*.py); not part of `make test`
	@if [ -f bench/run_all.py ]; then \
	  $(BIN)/python bench/run_all.py $(ARGS); \
	else \
	  shopt -s nullglob; files=(bench/[!_]*.py); \
	  if [ $${#files[@]} -eq 0 ]; then echo "bench: no benchmarks yet"; exit 0; fi; \
	  for f in "$${files[@]}"; do echo "==> $$f"; $(BIN)/python "$$f" $(ARGS); done; \
	fi

clean: ## remove .venv, node_modules, caches, build output (keeps the .peerlane/ data dir)
	rm -rf $(VENV) node_modules build dist test-artifacts \
	  .mypy_cache .ruff_cache .pytest_cache .hypothesis .coverage htmlcov src/*.egg-info
	find . -path ./.git -prune -o -path ./.peerlane -prune -o \
	  -type d -name __pycache__ -prune -exec rm -rf {} +

clean-data: ## remove the local data dir .peerlane/
	rm -rf .peerlane
