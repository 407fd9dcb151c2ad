"""A master frozen by SIGSTOP past its session timeout wakes up deposed.

This is the split brain that sank ActiveMQ's replicated LevelDB store: the
old master does not know time passed, and may answer clients that are
still connected to it. Invariant 5 says it must stop serving before another
can be elected, so not one RECEIPT may reach a client on the old master's
connection after the new master was seen serving (while the old one was
still frozen, so any such receipt was written after the new epoch began).
"""

import time

from checker import check, drain, expected_in_drain
from loadgen import Load, Manual
from procs import uid


def test_a_paused_master_sends_no_receipt_after_a_new_master_took_over(make_cluster):
    c = make_cluster()
    m = c.master()
    q = uid("pause")
    load = Load(c, q, producers=2).start()
    load.wait_receipts(100, what="before the pause")
    stuck = Manual(m.client_address, q, f"{q}-stuck")
    stuck.send(5)  # this connection works: each of these was receipted

    t_pause = time.monotonic()
    m.pause()
    stuck.send(20, wait=False)  # waits in the frozen broker's socket buffer
    new = c.wait_for_new_master(m)
    t_new = c.master_seen_at
    stuck.send(20, wait=False)
    load.wait_receipts(100, since=t_new, what="from the new master")

    m.resume()
    # Give the woken broker time to do the wrong thing (or to close the connection).
    stuck.session.wait(lambda s: s.broken, timeout=8)
    late = stuck.receipts_after(t_new)
    assert not late, f"the deposed master receipted {len(late)} sends after {new.node_id} " \
                     f"took over: {late[:5]}"
    late_load = load.receipts_on(m.client_address, t_new)
    assert not late_load, f"receipts from the deposed master after the new epoch: {late_load[:5]}"

    st = c.wait_role(m, "replica")
    assert st["master"] == new.node_id and st["epoch"] >= new.status()["epoch"], st
    stuck.close()
    load.stop()

    drained = drain(c, [q], expect=expected_in_drain(load) | set(stuck.receipted))
    check(load.producers + [stuck], drained, failovers=[t_pause]).assert_ok()
    c.assert_one_master_per_epoch()
