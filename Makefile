# The one task runner. `make install demo` on a fresh machine, then `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint format bench bench-science bench-real docs check-python clean browser

# Every Python the project claims (>= 3.11: Debian 12's 3.11.2, Colab's 3.12, 3.13) must
# resolve the pinned set; check-python dry-runs the install with each one this machine has.
CHECK_PYTHONS ?= /usr/bin/python3 $(wildcard $(HOME)/.pyenv/versions/3.1[1-9]*/bin/python3) \
	python3.11 python3.12 python3.13

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "exoextract needs Python >= 3.11, but $(PYTHON) is $$($(PYTHON) -V 2>/dev/null || echo 'not found'): run 'make install PYTHON=python3.11' (or 3.12, 3.13)" >&2; exit 2; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	  echo "$(PYTHON) cannot create virtual environments: install its venv module (Debian/Ubuntu: apt-get install python3-venv), then make install" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -c "from transitleastsquares.warmup import warmup; warmup(verbose=False)"
	$(BIN)/python -c "from exoextract.science.search.ffa import warmup; warmup()"
	$(BIN)/python -c "from exoextract.science.savgol import warmup; warmup()"
	touch $(STAMP)

demo: install
	$(BIN)/exoextract demo

test: install browser
	$(BIN)/python -m pytest

# The report's browser test needs Chromium: installed here from Debian's packages where it
# is missing and this user may (root with apt-get); otherwise that test says why it skips.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser test"; \
	    apt-get install -y -qq chromium >/dev/null 2>&1 || \
	      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } || \
	      echo "note: chromium could not be installed; the browser test will be skipped"; \
	  else echo "note: no chromium (install Debian's chromium package); the browser test will be skipped"; fi; }

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

lint: install
	$(BIN)/ruff check exoextract tests bench scripts
	$(BIN)/ruff format --check exoextract tests bench scripts
	$(BIN)/mypy
	$(BIN)/python scripts/reference.py --check

format: install
	$(BIN)/ruff format exoextract tests bench scripts
	$(BIN)/ruff check --fix exoextract tests bench scripts

# The commit the speed figures stand beside (the code before the fold's speed work).
BASELINE ?= 3cf8c1c

bench: install
	EXOEXTRACT_BASELINE=$(BASELINE) $(BIN)/python bench/run.py
	$(BIN)/python bench/science.py
	$(BIN)/python bench/real.py

bench-science: install
	$(BIN)/python bench/science.py

bench-real: install
	$(BIN)/python bench/real.py

# The documentation site (MkDocs, from docs/): the reference pages regenerated from the code,
# then built with warnings as errors into site/. make lint fails when a reference is stale.
docs: install
	$(BIN)/python scripts/reference.py
	$(BIN)/mkdocs build --strict --quiet --site-dir site

check-python:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; seen=" "; \
	for py in $(CHECK_PYTHONS); do \
	  version=$$($$py -c 'import platform; print(platform.python_version())' 2>/dev/null) \
	    || { echo "check-python: $$py cannot run here, skipped"; continue; }; \
	  case "$$seen" in *" $$version "*) continue;; esac; seen="$$seen$$version "; \
	  $$py -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	    || { echo "check-python: $$py is Python $$version, older than the 3.11 we claim, skipped"; continue; }; \
	  $$py -m venv "$$tmp/$$version"; \
	  "$$tmp/$$version/bin/python" -m pip install --quiet --dry-run -c constraints.txt -e '.[dev]' \
	    || { echo "check-python: the pinned set does not resolve on Python $$version" >&2; exit 1; }; \
	  echo "check-python: Python $$version resolves constraints.txt"; \
	done; \
	[ "$$seen" != " " ] || { echo "check-python: no Python found" >&2; exit 1; }

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache runs
