#!/usr/bin/env bash
# Second command of the README (and what CI runs): install everything, then run the
# project's own tests. Lab tests need root; under CI=true a root-skip is a failure.
#
# As root, everything at once (the lab's tests mostly wait on devices, so the machine's two
# cores carry more than one pytest process):
#   - the lab tests, in six processes that share one emulated lab, one detection matrix run
#     and the units' locks (tests/conftest.py: a test waits until the matrix is done with its
#     units and holds them, whichever process it is in);
#   - beside them, the tests that bring a lab up and down themselves, in a lab of their own
#     (scripts/own-lab.sh: network, PID and mount namespaces of their own);
#   - the unit tests (they touch no device) in two xdist workers at the lowest priority: they
#     take what the lab leaves of the cores, and the lab's probes keep their timing.
# Arguments are passed to every pytest process; a path among them (a selection of test
# files) runs one pytest process over it instead, as does a run without root.
set -euo pipefail
cd "$(dirname "$0")/.."
# an environment that tells Python not to write bytecode (PYTHONDONTWRITEBYTECODE, set on
# some build machines) makes every harness process compile the harness and pytest rewrite
# the test cases anew: 1.2 CPU-s a `harness run`, and the tests start hundreds
unset PYTHONDONTWRITEBYTECODE
./scripts/setup.sh
.venv/bin/python -m compileall -q harness >/dev/null
PYTEST=(.venv/bin/python -m pytest -q -p no:cacheprovider)
single() { exec "${PYTEST[@]}" tests/ --durations=25 "$@"; }
[ "$(id -u)" -eq 0 ] || single "$@"
for a in "$@"; do case "$a" in -*) ;; *) single "$@" ;; esac; done
.venv/bin/harness emulate down >/dev/null

# the lab tests in six processes; the first takes what the others do not name. Grouped so
# that each process's units are apart from the others' as far as they can be (the lab tests
# that drive a compliant router share router-1 to router-5 out): most of each process's time
# is waiting for the matrix to be done with its units, and a test that waits for a unit
# another process holds idles its whole process
SECOND="tests/lab/test_real_products.py tests/lab/test_tls_client.py"
# the appliance units are the matrix's longest (11 min under load): their tests in one process
THIRD="tests/lab/test_stop.py tests/lab/test_lab_actions.py tests/lab/test_faults.py
       tests/lab/test_appliance_behaviour.py tests/lab/test_plugin.py"
FOURTH="tests/lab/test_firmware_join.py tests/lab/test_labgrid.py tests/lab/test_update_login.py"
FIFTH="tests/lab/test_verdicts.py"
# the QEMU units' tests wait for the matrix's longest units (12 min): the reports' tests
# (router-1 and router-telnet, free after 6) run first in that wait, not in the first process
SIXTH="tests/lab/test_reports.py tests/lab/test_resume.py tests/lab/test_bootloader.py
       tests/lab/test_qemu_units.py"
PROCS=(second third fourth fifth sixth)
IGNORE=()
for f in $SECOND $THIRD $FOURTH $FIFTH $SIXTH; do IGNORE+=(--ignore "$f"); done

# named after this script's PID and PID namespace: a killed run's directory goes at the
# next run (harness.scratch)
logs=$(mktemp -d "${TMPDIR:-/tmp}/hx-tests-$$-$(readlink /proc/self/ns/pid | tr -dc 0-9)-XXXXXXXX")
trap 'rm -rf "$logs"' EXIT
status=0
passed() { [ "$1" -eq 0 ] || [ "$1" -eq 5 ]; }   # 5: this selection left no test here
show() { echo; echo "---- $1"; cat "$2"; }

# each process its own --basetemp: side by side, pytest's numbered directories race (one
# process's cleanup removed another's tmp_path)
bt() { echo "--basetemp=$logs/tmp-$1"; }
./scripts/own-lab.sh "$logs/own-lab" "${PYTEST[@]}" "$(bt exclusive)" tests/lab -m exclusive_lab \
  "$@" > "$logs/exclusive.log" 2>&1 & others=($!)
nice -n 19 "${PYTEST[@]}" "$(bt unit)" tests/unit -n 2 --durations=10 "$@" > "$logs/unit.log" 2>&1 &
others+=($!)

coord="$logs/coord"
mkdir -m 700 "$coord"
shared=(env HX_TEST_COORD="$coord" HX_TEST_MATRIX_SHARED=1)
for n in "${PROCS[@]}"; do
  files=${n^^}
  # shellcheck disable=SC2086   # the group's file names, one word each
  "${shared[@]}" "${PYTEST[@]}" "$(bt $n)" ${!files} -m "not exclusive_lab" --durations=10 "$@" \
    > "$logs/$n.log" 2>&1 & others+=($!)
done
rc=0; "${shared[@]}" "${PYTEST[@]}" "$(bt first)" tests/lab -m "not exclusive_lab" "${IGNORE[@]}" \
  --durations=25 "$@" || rc=$?; passed $rc || status=1
for pid in "${others[@]}"; do rc=0; wait "$pid" || rc=$?; passed $rc || status=1; done
show "the unit tests (beside the lab tests)" "$logs/unit.log"
show "the tests that bring a lab up and down themselves (in a lab of their own)" \
     "$logs/exclusive.log"
for n in "${PROCS[@]}"; do
  show "the $n process of lab tests (beside the first)" "$logs/$n.log"
done
# how long the detection matrix took on each unit (the lab tests wait for their units)
m="$coord/matrix-output/stdout.txt"
[ -f "$m" ] && echo && echo "---- the detection matrix, per unit" && \
  sed -n '/ per device /,/^harness report/p' "$m" | cut -c1-60
exit $status
