#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install photosearch into it.
#
# The environment is cached outside the clone, keyed on the dependency list, so a second run (or a
# fresh clone with the same pyproject.toml) reuses it: ~/.cache/photosearch-venvs/<hash>.
# Set PHOTOSEARCH_VENV to choose another location. Prints the venv path on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# The key covers what is installed (dependencies, extras, Python version), not the whole file.
deps=$("$PY" - <<'PYEOF'
import json, sys
try:
    import tomllib
    project = tomllib.load(open("pyproject.toml", "rb"))["project"]
    print(json.dumps([project.get("dependencies"), project.get("optional-dependencies")], sort_keys=True))
except ImportError:  # Python 3.10: no tomllib; key on the whole file
    print(open("pyproject.toml").read())
print(sys.version)
PYEOF
)
key=$(printf '%s' "$deps" | sha256sum | cut -c1-16)
venv=${PHOTOSEARCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/photosearch-venvs/$key}
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  echo "setting up the Python environment in $venv (first run downloads PyTorch; a few minutes)…" >&2
  rm -rf "$venv"
  "$PY" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  # On machines with a local wheel cache of torch, pip picks it; elsewhere it comes from PyPI.
  "$venv/bin/python" -m pip install -q -e ".[openvino,test]" >&2
  touch "$venv/.complete"
else
  # Same dependencies: only (re)link this checkout into the environment.
  "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e . >&2
fi
echo "$venv"
