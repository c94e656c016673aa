#!/usr/bin/env bash
# Set up the environment and open the app on the bundled sample library (360 photos).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(./scripts/setup-venv.sh)
exec "$venv/bin/photosearch" gui --sample "$@"
