# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := var/demo
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test test-all lint docs bench clean messages messages-extract messages-update messages-compile

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

# The texts people read (tryggplan.catalogs; docs/signin.md, "Adding a text"): extract the English ids from
# the code and the templates into the template catalog, merge them into each language's .po, and compile the
# .mo files that are kept in the repository and shipped (tests/test_catalogs.py fails while one is stale).
LOCALE := tryggplan/locale
PYBABEL := $(BIN)/pybabel
SOURCES := tryggplan usecases service cli reporting allocation forecasting storage
KEYWORDS := --no-default-keywords -k _ -k gettext -k ngettext:1,2 -k translate:2 -k translate_plural:2,3 \
	-k PasswordPolicyError:1

messages: messages-extract messages-update messages-compile

messages-extract: $(STAMP)
	$(PYBABEL) extract -F babel.cfg $(KEYWORDS) --sort-by-file --no-wrap --omit-header \
		--project tryggplan -o $(LOCALE)/messages.pot $(SOURCES)

messages-update: $(STAMP)
	$(PYBABEL) update -i $(LOCALE)/messages.pot -d $(LOCALE) -D messages --no-wrap --omit-header --ignore-obsolete

messages-compile: $(STAMP)
	$(PYBABEL) compile -d $(LOCALE) -D messages --statistics

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache
