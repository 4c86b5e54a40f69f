"""Per-device locks shared by a run's workers (harness.runner.unitlock): two workers each holding
their own unit and borrowing the other's take turns instead of deadlocking; a unit that
stays busy gives INCONCLUSIVE, never a wait without end."""
import contextlib
import threading

import pytest

from harness.errors import Inconclusive
from harness.runner.unitlock import UnitLocks


def test_two_units_borrowing_each_other_take_turns(tmp_path):
    a, b = UnitLocks(tmp_path), UnitLocks(tmp_path)      # two workers (own descriptors)
    a.acquire("unit-a")
    b.acquire("unit-b")
    inside, errors = [], []

    def borrow(locks, own, other):
        try:
            with locks.borrow(own, [other], timeout=10):
                inside.append(own)
                assert set(locks.held) == {own, other}
                threading.Event().wait(0.3)
                inside.append(own)
            assert own in locks.held           # its own unit is held again afterwards
            locks.release(own)                 # the test case ends
        except Exception as exc:               # reported below
            errors.append(exc)

    threads = [threading.Thread(target=borrow, args=(a, "unit-a", "unit-b")),
               threading.Thread(target=borrow, args=(b, "unit-b", "unit-a"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors and not any(t.is_alive() for t in threads)
    # one after the other, never interleaved
    assert inside in (["unit-a"] * 2 + ["unit-b"] * 2, ["unit-b"] * 2 + ["unit-a"] * 2)
    assert not a.held and not b.held


def test_a_busy_unit_is_inconclusive_within_the_wait(tmp_path):
    worker, other = UnitLocks(tmp_path), UnitLocks(tmp_path)
    worker.acquire("unit-a")
    other.acquire("unit-b")                    # busy for the whole test
    with pytest.raises(Inconclusive, match="unit-b stayed busy"):
        with worker.borrow("unit-a", ["unit-b"], timeout=0.5):
            pytest.fail("entered while the unit was busy")
    assert set(worker.held) == {"unit-a"}      # still holds its own unit


def test_released_lock_can_be_taken(tmp_path):
    first, second = UnitLocks(tmp_path), UnitLocks(tmp_path)
    with first.holding("unit-a"):
        assert not second.acquire("unit-a", timeout=0.3)
    assert second.acquire("unit-a", timeout=0.3)


def test_a_waiting_borrower_gets_the_unit_at_the_next_test_boundary(tmp_path):
    """The unit's own worker lets go between test cases and takes it straight back; a
    borrower waiting meanwhile must get it at the first boundary, not starve."""
    owner, borrower = UnitLocks(tmp_path), UnitLocks(tmp_path)
    order, started = [], threading.Event()

    def own_worker():
        for i in range(6):
            with owner.holding("unit-a"):
                started.set()
                order.append(f"test {i}")
                threading.Event().wait(0.3)

    t = threading.Thread(target=own_worker)
    t.start()
    started.wait(5)
    borrower.acquire("unit-b")
    with borrower.borrow("unit-b", ["unit-a"], timeout=10):
        order.append("borrowed")
    t.join(20)
    assert order.index("borrowed") <= 2, order      # after the first or second test case

def test_a_held_command_channel_leaves_its_units_free_but_not_the_channel(tmp_path):
    """Remote-operation test cases on one broker take turns (the channel lock); the other
    units' device-only test cases go on meanwhile."""
    a, b = UnitLocks(tmp_path), UnitLocks(tmp_path)
    a.acquire("unit-a")
    with a.taking("channel-broker", 5, "the command channel"):
        assert b.acquire("unit-b", timeout=0.3)           # b's device-only test case runs
        with pytest.raises(Inconclusive, match="the command channel stayed busy"):
            with b.taking("channel-broker", 0.5, "the command channel"):
                pytest.fail("two remote-operation test cases on one channel at once")
    with b.taking("channel-broker", 0.5, "the command channel"):
        assert "channel-broker" in b.held
    assert "channel-broker" not in b.held


def test_units_then_channel_never_deadlocks(tmp_path):
    """One worker holds its unit and waits for the channel; another borrows that unit and
    then takes the channel (the order every test case keeps): both get through."""
    a, b = UnitLocks(tmp_path), UnitLocks(tmp_path)
    a.acquire("unit-a")
    b.acquire("unit-b")
    done, errors = [], []

    def test_case(locks, own, borrow=()):
        try:
            with locks.borrow(own, borrow, timeout=10) if borrow else contextlib.nullcontext():
                with locks.taking("channel-broker", 10, "the command channel"):
                    threading.Event().wait(0.3)
            locks.release(own)
            done.append(own)
        except Exception as exc:               # reported below
            errors.append(exc)

    threads = [threading.Thread(target=test_case, args=(a, "unit-a")),
               threading.Thread(target=test_case, args=(b, "unit-b", ["unit-a"]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and not any(t.is_alive() for t in threads)
    assert sorted(done) == ["unit-a", "unit-b"]
