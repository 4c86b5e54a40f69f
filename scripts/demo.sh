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
$H run --out "$out" "${args[@]}" "$@"
code=$?
set -e
# exit 1 is expected: the flawed variants FAIL as they are built to. The demo succeeds when
# that is all (no ERROR or INCONCLUSIVE anywhere).
if [ "$code" -eq 1 ] && [ -f "$out/run.json" ] && .venv/bin/python - "$out/run.json" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))["summary"]
sys.exit(1 if summary.get("ERROR") or summary.get("INCONCLUSIVE") else 0)
PY
then
  echo "demo: the FAILs are the emulated variants' planted flaws (README, device table); no ERROR"
  echo "demo: or INCONCLUSIVE. Report: $(pwd)/$out/report.html"
  exit 0
fi
exit "$code"
