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
# The emulated devices' software is checked against the project's fixture feeds (test data in
# the real formats, not the real catalogs); a lab imports the real ones (README).
$H vulndb import tests/data/vulnfeeds/*.json >/dev/null
echo "demo: vulnerability feeds: the fixture files in tests/data/vulnfeeds (test data)"
args=()
for p in "${profiles[@]}"; do args+=(--profile "$p"); done
out="reports/demo-$(date +%Y%m%d-%H%M%S)"
set +e
$H run --allow-destructive --out "$out" "${args[@]}" "$@"
code=$?
[ -f "$out/run.json" ] && $H emulate found "$out"
found=$?
set -e
# exit 1 is expected: the flawed variants FAIL as they are built to. The demo succeeds when
# every planted flaw was found and nothing is ERROR or INCONCLUSIVE anywhere.
if [ "$code" -eq 1 ] && [ "$found" -eq 0 ] && .venv/bin/python - "$out/run.json" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))["summary"]
sys.exit(1 if summary.get("ERROR") or summary.get("INCONCLUSIVE") else 0)
PY
then
  echo "demo: every planted flaw was found (above); the FAILs are those flaws; no ERROR or"
  echo "demo: INCONCLUSIVE. Report: $(pwd)/$out/report.html and report.pdf"
  exit 0
fi
exit 1
