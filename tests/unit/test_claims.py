"""Claims on units shared by the runs on one host (harness.runner.claims): a unit one run
tests is refused to another, by any of its names, with its holder named; released, it can be
claimed again; a forked worker's copies do not keep it."""
import os

from harness.profile.schema import DeviceProfile
from harness.runner.claims import Claims, names


def _profile(**extra):
    return DeviceProfile.model_validate({"name": "r", "category": "router", "vendor": "v",
                                         "model": "m", "firmware_version": "1",
                                         "address": "198.18.0.11", **extra})


def _claims(tmp_path, run):
    return Claims(tmp_path / "claims", {"run": run, "pid": 4242, "out": f"/reports/{run}"})


def test_a_unit_is_named_by_what_reaches_it(tmp_path):
    port = tmp_path / "ttyUSB0"
    port.write_text("")
    alias = tmp_path / "by-id"
    alias.symlink_to(port)
    a = names(_profile(address6="2001:2:0:0::11", serial={"port": str(alias)}))
    assert a[:2] == ["ip-198.18.0.11", "ip-2001_2__11"]           # IPv6 in one spelling
    assert a[2] == "serial-" + str(port).replace("/", "_")        # the port, not its alias
    assert names(_profile(lab={"labgrid_place": "p"})) == []     # the coordinator's


def test_a_claimed_unit_is_refused_to_another_run_until_released(tmp_path):
    first, second = _claims(tmp_path, "run-a"), _claims(tmp_path, "run-b")
    assert first.claim("router-1", ["ip-198.18.0.11", "ip-2001_2__11"]) is None
    # another profile name, one address in common: the same unit
    busy = second.claim("other-name", ["ip-2001_2__11"])
    assert busy.startswith("ip-2001_2__11: run run-a (pid 4242, device router-1, since "), busy
    assert "output /reports/run-a" in busy
    assert second.claim("router-2", ["ip-198.18.0.12"]) is None   # other units go on
    first.release("router-1")
    assert second.claim("other-name", ["ip-2001_2__11"]) is None


def test_one_run_with_two_profiles_of_one_unit(tmp_path):
    run = _claims(tmp_path, "run-a")
    assert run.claim("router-1", ["ip-198.18.0.11", "serial-_dev_pts_3"]) is None
    assert run.claim("router-1-again", ["serial-_dev_pts_3"]) == \
        "serial-_dev_pts_3: this run tests it already, as router-1"


def test_all_names_or_none(tmp_path):
    first, second = _claims(tmp_path, "run-a"), _claims(tmp_path, "run-b")
    assert first.claim("u", ["ip-198.18.0.12"]) is None
    assert second.claim("v", ["ip-198.18.0.11", "ip-198.18.0.12"]) is not None
    # the name it could take is not kept while it reports the unit busy
    assert _claims(tmp_path, "run-c").claim("w", ["ip-198.18.0.11"]) is None


def test_a_wait_is_bounded(tmp_path):
    first, second = _claims(tmp_path, "run-a"), _claims(tmp_path, "run-b")
    first.claim("u", ["ip-198.18.0.11"])
    assert "run run-a" in second.claim("u", ["ip-198.18.0.11"], wait=0.6)


def test_a_forked_worker_does_not_keep_the_claim(tmp_path):
    owner = _claims(tmp_path, "run-a")
    assert owner.claim("u", ["ip-198.18.0.11"]) is None
    r, w = os.pipe()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:                              # the worker: closes its copies, lives on
        owner.close_inherited()
        os.write(ready_w, b"x")
        os.read(r, 1)
        os._exit(0)
    os.read(ready_r, 1)
    try:
        owner.release("u")                    # the owner lets go while the worker runs
        assert _claims(tmp_path, "run-b").claim("u", ["ip-198.18.0.11"]) is None
    finally:
        os.write(w, b"x")
        os.waitpid(pid, 0)


def test_a_directory_that_cannot_be_made_is_said(tmp_path):
    (tmp_path / "file").write_text("")
    busy = Claims(tmp_path / "file" / "claims", {}).claim("u", ["ip-198.18.0.11"])
    assert busy.startswith("its claim could not be made in "), busy
    where = tmp_path / "made"
    assert Claims(where, {}).claim("u", ["ip-198.18.0.11"]) is None
    assert where.stat().st_mode & 0o7777 == 0o1777      # any user's runs claim there


class _Device:
    def __init__(self, name, address):
        self.name, self.profile = name, _profile(name=name, address=address)


def test_a_borrowed_unit_is_this_runs_or_claimed_again(tmp_path):
    import pytest
    from harness.errors import Inconclusive
    owner = _claims(tmp_path, "run-a")
    worker = _claims(tmp_path, "run-a")          # a worker of the same run
    peer = _Device("appliance-2", "198.18.0.32")
    assert owner.claim("appliance-2", names(peer.profile)) is None
    with worker.borrowing([peer], wait=0):       # the owner's claim is the run's own
        pass
    owner.release("appliance-2")
    with worker.borrowing([peer], wait=0):       # let go: claimed again for the borrow
        assert "run run-a" in _claims(tmp_path, "run-b").claim("x", names(peer.profile))
    assert _claims(tmp_path, "run-b").claim("x", names(peer.profile)) is None
    with pytest.raises(Inconclusive, match="appliance-2 could not be borrowed: it is "
                                           "claimed .*run run-b"):
        with worker.borrowing([peer], wait=0.6):
            pass


def test_a_done_unit_is_let_go_once_no_borrow_holds_it(tmp_path):
    from types import SimpleNamespace
    from harness.runner.claims import settle
    from harness.runner.unitlock import UnitLocks
    ctx = SimpleNamespace(claims=_claims(tmp_path, "run-a"), units=UnitLocks(tmp_path / "l"))
    ctx.claims.claim("appliance-2", ["ip-198.18.0.32"])
    borrower = UnitLocks(tmp_path / "l")         # a worker's test case borrowing it
    assert borrower.acquire("appliance-2")
    assert settle(ctx, "appliance-2") == []      # not let go: no unit-done yet
    assert "appliance-2" in ctx.claims.held and ctx.claims.pending == {"appliance-2"}
    borrower.release("appliance-2")
    assert settle(ctx) == ["appliance-2"]        # at the next result: now unit-done
    assert ctx.claims.held == {} and ctx.claims.pending == set()
    assert _claims(tmp_path, "run-b").claim("x", ["ip-198.18.0.32"]) is None


def test_no_link_and_no_other_users_directory(tmp_path):
    """The directory is shared like /tmp: a lock name that is a link (soft, or hard to a
    file elsewhere) is never opened for writing, nor a directory that is a link."""
    where = tmp_path / "claims"
    claims = Claims(where, {"run": "r"})
    assert claims.claim("u", ["ip-198.18.0.11"]) is None
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (where / "ip-198.18.0.12.lock").symlink_to(victim)
    os.link(victim, where / "ip-198.18.0.13.lock")
    for n in ("12", "13"):
        busy = claims.claim(f"v{n}", [f"ip-198.18.0.{n}"])
        assert busy.startswith(f"ip-198.18.0.{n}: its claim file cannot be used"), busy
    assert victim.read_text() == "keep" and victim.stat().st_mode & 0o777 != 0o666
    linked = tmp_path / "linked"
    linked.symlink_to(where)
    busy = Claims(linked, {}).claim("w", ["ip-198.18.0.14"])
    assert busy.startswith("its claim could not be made in "), busy


def test_a_busy_unit_is_error_without_a_packet_to_it():
    """The test cases of a unit another run holds are ERROR with the holder named, and the
    harness does not even check whether the unit answers (that would be traffic to it)."""
    from types import SimpleNamespace
    from harness.errors import UnitBusy
    from harness.runner.outcome import verdict_of

    def probe():
        raise AssertionError("a liveness probe was sent to a unit another run holds")
    device = SimpleNamespace(health=SimpleNamespace(broken=None), check_alive=probe)
    got = verdict_of(SimpleNamespace(value=UnitBusy("the unit is claimed (ip-x: run r)")),
                   device, None)
    assert (got[0].value, got[1]) == ("ERROR", "the unit is claimed (ip-x: run r)")
