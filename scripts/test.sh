#!/usr/bin/env bash
# The whole test suite: lint, types, unit and integration tests (real models, real Qdrant local
# mode, real Chromium when installable). Called by `make test` and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
echo "==> ruff"; $BIN/ruff check . && $BIN/ruff format --check .
echo "==> mypy"; $BIN/mypy
echo "==> pytest"; $BIN/pytest -q
