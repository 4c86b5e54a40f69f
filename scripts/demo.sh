#!/usr/bin/env bash
# First command of the README: install everything, start the built-in emulated devices,
# run the Level 1 suite against them, stop them again, and print where the report is.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (emulated devices need network namespaces), e.g. sudo $0" >&2; exit 2; }
./scripts/setup.sh
H=.venv/bin/harness
$H emulate down >/dev/null
trap '$H emulate down >/dev/null' EXIT
mapfile -t profiles < <($H emulate up)
args=()
for p in "${profiles[@]}"; do args+=(--profile "$p"); done
set +e
$H run "${args[@]}" "$@"
code=$?
set -e
[ "$code" -ne 1 ] || echo "demo: exit code 1 — the flawed emulated variants FAIL, as they are built to"
exit "$code"
