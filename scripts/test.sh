#!/usr/bin/env bash
# Set up the environment and run every check: ruff (lint + format), mypy on photosearch/core, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(./scripts/setup-venv.sh)
export QT_QPA_PLATFORM=offscreen
echo "== ruff" && "$venv/bin/ruff" check . && "$venv/bin/ruff" format --check .
echo "== mypy photosearch/core" && "$venv/bin/mypy" photosearch/core
echo "== pytest" && "$venv/bin/python" -m pytest "$@"
