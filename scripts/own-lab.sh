#!/usr/bin/env bash
# own-lab.sh SCRATCH COMMAND...: run COMMAND (as root) in a lab of its own, beside the
# emulated lab of this machine: its own network namespace (bridge, links, nft tables and
# loopback of its own), its own PID namespace (its processes, and only they, in /proc; all
# of them stop when it ends) and its own mounts — a fresh /run (the emulator's state and
# /run/netns) and copy-on-write views of /etc (/etc/netns) and of the checkout (instance
# profiles, reports/, lab_config/vulndb), whose writes go to SCRATCH and vanish with the
# namespaces. scripts/test.sh runs the tests that bring a lab up and down themselves so,
# while the other lab tests share the machine's lab.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 SCRATCH COMMAND..." >&2; exit 2; }
scratch=$1; shift
checkout=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$scratch"
exec unshare --net --mount --pid --fork --mount-proc --propagation private \
  bash -c '
    set -euo pipefail
    scratch=$1 checkout=$2; shift 2
    mount -t tmpfs -o mode=700 own-lab "$scratch"
    view() {   # view DIR NAME: DIR as seen here, its writes kept in the scratch tmpfs
      mkdir "$scratch/$2" "$scratch/$2.work"
      mount -t overlay own-lab -o "lowerdir=$1,upperdir=$scratch/$2,workdir=$scratch/$2.work" "$1"
    }
    view /etc etc
    view "$checkout" checkout
    mount -t tmpfs -o mode=755 own-lab /run
    ip link set lo up
    cd "$PWD"
    "$@"      # not exec: this shell, PID 1 here, reaps the orphans of daemons
  ' own-lab "$scratch" "$checkout" "$@"
