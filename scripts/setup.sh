#!/usr/bin/env bash
# Install everything the harness needs on Debian: the daemons of the emulated devices and
# nmap (apt-get, only what is missing), a virtual environment in .venv, and the package.
# Safe to run again. Needs root for apt-get (uses sudo when not root).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(nmap dropbear-bin openssh-server openssh-client mosquitto mosquitto-clients
          lighttpd lighttpd-mod-openssl busybox vsftpd socat inetutils-telnetd iproute2
          nftables openssl procps ca-certificates ser2net
          motion tftpd-hpa snmpd snmp swupdate rauc dbus   # third-party IoT software of
          mender-client mender-artifact                    # the emulated units
          libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core   # report.pdf (WeasyPrint)
          squashfs-tools libarchive-tools e2fsprogs u-boot-tools   # harness firmware: unpacking
          qemu-system-arm u-boot-qemu cpio device-tree-compiler   # units that boot real firmware (arm64; signed FIT)
          chromium chromium-driver)   # the last two: the report is checked in a real browser
NODE_RED="node-red@4.1.8"             # the emulated hubs' web UI (from the npm registry)
# As root, run the package manager directly; otherwise through sudo. An array, so that an
# empty prefix is no word at all (a bare "$SUDO -E" as root ran "-E").
AS_ROOT=()
[ "$(id -u)" -eq 0 ] || AS_ROOT=(sudo)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
python3 -m venv --help >/dev/null 2>&1 && python3 -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
# Node.js 18.5 or newer with npm, for Node-RED: Debian's when the machine has none
if ! { command -v npm >/dev/null && node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' 2>/dev/null; }; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  # Keep the packages' own services (sshd, mosquitto, lighttpd, vsftpd) from starting on
  # this machine: the emulated devices start their own copies inside namespaces.
  created_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${AS_ROOT[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${AS_ROOT[@]}" chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
    trap '"${AS_ROOT[@]}" rm -f /usr/sbin/policy-rc.d' EXIT    # also when apt-get fails
  fi
  "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$created_policy" ]; then "${AS_ROOT[@]}" rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
fi

# The QEMU units' firmware is built from Debian's arm64 packages (apt-get download):
# the package index must know the architecture.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "setup: adding the arm64 architecture to the package index (firmware packages)"
  "${AS_ROOT[@]}" dpkg --add-architecture arm64
  "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
fi

# Three independent installs side by side (each mostly waits on its registry): the
# harness's venv and then the firmware packages, Node-RED, labgrid. Each writes its own log,
# shown when it fails.
[ -x .venv/bin/python ] || python3 -m venv .venv
# labgrid (the shared-lab backend) in a venv of its own: it replaces pyserial with a fork
# that installs the same module, so it must not share the harness's venv.
[ -x .venv-labgrid/bin/python ] || python3 -m venv .venv-labgrid
mkdir -p .node-red
harness_venv() {
  .venv/bin/python -m pip install -q --upgrade pip > .venv/pip.log 2>&1 &&
    .venv/bin/python -m pip install -q -e ".[test]" >> .venv/pip.log 2>&1 || {
      echo .venv/pip.log; return 1; }
  # the firmware packages, fetched now while the registries are in reach (into ~/.cache)
  .venv/bin/python -m harness.emulate.fwbuild > .venv/firmware-debs.log 2>&1 ||
    { echo .venv/firmware-debs.log; return 1; }
}
node_red() {
  [ -f .node-red/node_modules/node-red/red.js ] ||
    npm install --prefix .node-red --no-audit --no-fund --omit=optional "$NODE_RED" \
      > .node-red/npm.log 2>&1 || { echo .node-red/npm.log; return 1; }
}
labgrid() {
  [ -x .venv-labgrid/bin/labgrid-client ] ||
    .venv-labgrid/bin/python -m pip install -q "labgrid==26.0.1" > .venv-labgrid/pip.log 2>&1 ||
    { echo .venv-labgrid/pip.log; return 1; }
}
steps=(harness_venv node_red labgrid)
pids=()
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT      # also when interrupted
for step in "${steps[@]}"; do
  "$step" > "$logs/$step" &       # prints its log's path when it fails
  pids+=($!)
done
failed=0
for i in "${!steps[@]}"; do
  if ! wait "${pids[$i]}"; then
    log=$(cat "$logs/${steps[$i]}")
    cat "$log" >&2
    echo "setup: ${steps[$i]} failed (log above: $log)" >&2
    failed=1
  fi
done
[ "$failed" -eq 0 ] || exit 1
echo "setup: ready (.venv/bin/harness)"
