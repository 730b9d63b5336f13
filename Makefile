# The one task runner. `make install demo` on a fresh machine, then `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint format bench bench-science docs clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -c "from transitleastsquares.warmup import warmup; warmup(verbose=False)"
	$(BIN)/python -c "from exoextract.search.ffa import warmup; warmup()"
	touch $(STAMP)

demo: install
	$(BIN)/exoextract demo

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

lint: install
	$(BIN)/ruff check exoextract tests bench
	$(BIN)/ruff format --check exoextract tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format exoextract tests bench
	$(BIN)/ruff check --fix exoextract tests bench

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/science.py

bench-science: install
	$(BIN)/python bench/science.py

docs: install
	$(BIN)/python -m exoextract.reference > docs/FEATURES.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache runs
