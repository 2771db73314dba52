# The few verbs a maintainer needs. `make run` and `make test` are the README's two commands.
VENV ?= .venv
BIN := $(VENV)/bin
DEMO := corpora/demo

.PHONY: setup run ingest-demo test test-unit test-fast lint bench eval serve clean

setup:
	./scripts/setup.sh

ingest-demo: setup
	$(BIN)/guichet ingest $(DEMO) --prune

run: ingest-demo
	$(BIN)/guichet serve

test: setup
	./scripts/test.sh

# The model-free tier: no model, no index (tests/unit); needs only the virtualenv.
test-unit:
	@test -x $(BIN)/pytest || ./scripts/setup.sh
	$(BIN)/pytest -q tests/unit --durations=10

test-fast: setup
	$(BIN)/pytest -q -m "not slow and not browser"

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/guichet bench all

eval: setup
	$(BIN)/guichet eval run --dataset demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
