#!/usr/bin/env bash
# Second command of the README (and what CI runs): install everything, then run the
# project's own tests. Lab tests need root; under CI=true a root-skip is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ "$(id -u)" -eq 0 ]; then .venv/bin/harness emulate down >/dev/null; fi
exec .venv/bin/python -m pytest tests/ -q -p no:cacheprovider --durations=25 "$@"
