#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install photosearch into it.
#
# The environment is cached outside the clone, keyed on the dependency list, so a second run (or a
# fresh clone with the same pyproject.toml) reuses it: ~/.cache/photosearch-venvs/<hash>.
# Set PHOTOSEARCH_VENV to choose another location. Prints the venv path on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
key=$( { cat pyproject.toml; "$PY" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)
venv=${PHOTOSEARCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/photosearch-venvs/$key}
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  echo "setting up the Python environment in $venv (first run downloads PyTorch; a few minutes)…" >&2
  rm -rf "$venv"
  "$PY" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  # On machines with a local wheel cache of torch, pip picks it; elsewhere it comes from PyPI.
  "$venv/bin/python" -m pip install -q -e ".[test]" >&2
  touch "$venv/.complete"
else
  # Same dependencies: only (re)link this checkout into the environment.
  "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e . >&2
fi
echo "$venv"
