"""Writers' turns on SQLite: a waiter sleeps in the kernel until the holder, in any process,
lets go (``audit.sqlite_turns``)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from audit.sqlite_turns import turn

HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""

PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("taken")
else:
    print("free")
"""


def _probe(path) -> str:
    """Whether another process could take the turn right now."""
    return subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def lock_path(tmp_path):
    return str(tmp_path / "governance.sqlite3.write-lock")


def test_a_writer_waits_while_another_process_holds_the_turn(lock_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, lock_path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        entered = threading.Event()

        def writer():
            with turn(lock_path):
                entered.set()

        thread = threading.Thread(target=writer)
        thread.start()
        assert not entered.wait(0.3)  # queued in the kernel, not writing
        started = time.monotonic()
        holder.stdin.close()  # the holder exits, its lock goes with it
        assert entered.wait(5)
        assert time.monotonic() - started < 2  # woken when it is free, not after a back-off
        thread.join(5)
    finally:
        holder.kill()
        holder.wait(5)


def test_a_turn_is_reentrant_and_held_until_the_outermost_block_ends(lock_path):
    with turn(lock_path):
        with turn(lock_path):
            assert _probe(lock_path) == "taken"
        assert _probe(lock_path) == "taken"
    assert _probe(lock_path) == "free"


def test_two_threads_of_one_process_take_turns(lock_path):
    inside, overlaps = [], []

    def writer():
        for _ in range(200):
            with turn(lock_path):
                inside.append(1)
                time.sleep(0)  # let another thread run while this one is inside
                if len(inside) > 1:
                    overlaps.append(len(inside))
                inside.pop()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert overlaps == []
