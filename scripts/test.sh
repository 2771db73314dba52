#!/usr/bin/env bash
# The whole test suite: lint, types, unit and integration tests (real models, real Qdrant local
# mode, real Chromium when installable). Called by `make test` and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
echo "==> ruff"; $BIN/ruff check . && $BIN/ruff format --check .
echo "==> mypy"; $BIN/mypy
# Two tiers, timed apart: the model-free one first, since it fails in a minute, not ten.
echo "==> pytest: unit tier (no model, no index)"
SECONDS=0; $BIN/pytest -q tests/unit --durations=5; unit_s=$SECONDS
echo "==> pytest: integration tier (real models, Qdrant, Chromium)"
SECONDS=0; $BIN/pytest -q tests/integration --durations=15; integration_s=$SECONDS
echo "==> tiers: unit ${unit_s} s, integration ${integration_s} s"
