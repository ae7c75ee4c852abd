# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := var/demo
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test test-all lint docs bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tryggplan run-demo --dir $(DEMO) --host 127.0.0.1 --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The layer contracts and the types are checked on a build of the package: the layer folders are
# mapped into `tryggplan` by package-dir, which only an installed copy shows as one tree (on the
# editable install mypy cannot follow `tryggplan.` imports and would take every module as Any).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	rm -rf build/layers
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --target build/layers .
	cd build/layers && PYTHONPATH=. ../../$(BIN)/lint-imports ../../pyproject.toml
	cd build/layers && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p tryggplan
	$(MAKE) --no-print-directory docs

# The documentation site (mkdocs.yml, pages under docs/) into build/site; --strict fails on a broken
# link or anchor and on a page missing from the nav. Offline: nothing is fetched while building.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache
