#!/usr/bin/env bash
# Set up the environment and run every check: ruff (lint + format), mypy on photosearch/,
# pytest. Every step runs; the exit status is non-zero if any failed. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
venv=$(./scripts/setup-venv.sh) || exit 1
export QT_QPA_PLATFORM=offscreen
failed=()
echo "== ruff check" && "$venv/bin/ruff" check . || failed+=("ruff check")
echo "== ruff format --check" && "$venv/bin/ruff" format --check . || failed+=("ruff format")
echo "== mypy photosearch" && "$venv/bin/mypy" photosearch || failed+=("mypy")
echo "== pytest" && "$venv/bin/python" -m pytest "$@" || failed+=("pytest")
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all checks passed"
