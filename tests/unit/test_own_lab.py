"""scripts/own-lab.sh: what a command does to the lab's places (namespaces, /etc/netns, /run,
the checkout) and its processes stays inside, and its exit status comes out. The test
command runs the tests that bring a lab up and down themselves so, beside the shared lab."""
import subprocess
from pathlib import Path

from tests.conftest import REPO, need_root

INSIDE = """
set -e
ip netns add hx-own-lab-test
mkdir -p /etc/netns/hx-own-lab-test /run/own-lab-test reports/own-lab-test
touch lab_config/own-lab-test
setsid sleep 300 < /dev/null > /dev/null 2>&1 &
echo "$!" > "$MARK"
ip netns list | grep -q hx-own-lab-test
[ -d /etc/netns/hx-own-lab-test ] && [ -f lab_config/own-lab-test ]
exit 7
"""


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_what_happens_in_its_own_lab_stays_there(tmp_path):
    need_root()
    mark = tmp_path / "pid"
    proc = subprocess.run([str(REPO / "scripts" / "own-lab.sh"), str(tmp_path / "scratch"),
                           "bash", "-c", INSIDE], cwd=REPO, capture_output=True, text=True,
                          timeout=900, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                           "MARK": str(mark)})
    assert proc.returncode == 7, proc.stderr          # the command's own exit status
    assert mark.read_text().strip(), "the command did not get as far as its daemon"
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "hx-own-lab-test" not in listed
    assert not Path("/etc/netns/hx-own-lab-test").exists()
    assert not Path("/run/own-lab-test").exists()
    assert not (REPO / "reports" / "own-lab-test").exists()
    assert not (REPO / "lab_config" / "own-lab-test").exists()
    # its daemon (a PID of its namespace) went with it: none of this machine's processes
    # is a `sleep 300` started by this test after the test started
    left = [p for p in Path("/proc").glob("[0-9]*")
            if _running(int(p.name)) and (p / "cmdline").exists()
            and (p / "cmdline").read_bytes() == b"sleep\x00300\x00"
            and (p / "environ").exists() and str(mark).encode() in (p / "environ").read_bytes()]
    assert left == []
    assert not any((tmp_path / "scratch").iterdir())   # the writes went with the mounts


def test_it_refuses_without_a_command():
    proc = subprocess.run([str(REPO / "scripts" / "own-lab.sh"), "/tmp/x"], capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 2 and "usage" in proc.stderr
