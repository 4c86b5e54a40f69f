#!/usr/bin/env bash
# Second command of the README (and what CI runs): install everything, then run the
# project's own tests. Lab tests need root; under CI=true a root-skip is a failure.
# With no arguments: first the tests that bring the emulated lab up and down themselves,
# then everything else in parallel workers sharing one lab (a test holds the units it
# drives; see tests/conftest.py). Arguments go to a single pytest run instead.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ "$(id -u)" -eq 0 ]; then .venv/bin/harness emulate down >/dev/null; fi
pytest=(.venv/bin/python -m pytest -q -p no:cacheprovider)
if [ $# -gt 0 ]; then exec "${pytest[@]}" "$@"; fi
"${pytest[@]}" tests/ -m exclusive_lab
exec "${pytest[@]}" tests/ -m "not exclusive_lab" -n "${HX_TEST_WORKERS:-3}" --dist loadfile \
    --durations=25
