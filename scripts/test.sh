#!/usr/bin/env bash
# Second command of the README (and what CI runs): install everything, then run the
# project's own tests. Lab tests need root; under CI=true a root-skip is a failure.
# One pytest process: the tests that bring the emulated lab up and down themselves run first,
# then the unit tests while the detection matrix works in the background, then the lab tests
# (tests/conftest.py orders them). `-n N` (pytest-xdist) also works, sharing one lab; on a
# 2-core machine it overloads the emulated units, so the default is one process.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ "$(id -u)" -eq 0 ]; then .venv/bin/harness emulate down >/dev/null; fi
exec .venv/bin/python -m pytest tests/ -q -p no:cacheprovider --durations=25 "$@"
