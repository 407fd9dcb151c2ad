"""A replica that lost its disk comes back empty and catches up.

The master keeps only the last --log-retain entries of its log (here 500),
so a node that needs older entries is sent a RocksDB checkpoint instead
(invariant 6). The test sends FERROMQ_CHECKPOINT_MESSAGES messages
(default 2,000: with their ACKs, far more entries than the master keeps),
wipes a replica, and checks that it catches up by checkpoint while the
master keeps serving.
Then it makes the rebuilt node master (the other replica down, the master
stepping down) and drains from it: its copy must hold every receipted
message and none that was receipted as acknowledged.
"""

import os
import time

from checker import check, drain, expected_in_drain
from loadgen import Load
from procs import uid

MESSAGES = int(os.environ.get("FERROMQ_CHECKPOINT_MESSAGES", "2000"))
LOG_RETAIN = 500


def test_checkpoint_catch_up_of_a_wiped_replica(make_cluster):
    c = make_cluster(extra_args=("--log-retain", str(LOG_RETAIN)))
    m = c.master()
    wiped, other = c.others(m)
    code, body = wiped.step_down()
    assert code == 409, f"step-down on a replica must be refused: {code} {body}"

    q = uid("ckpt")
    load = Load(c, q, producers=2, consumers=1, window=32).start()
    load.wait_receipts(MESSAGES, timeout=max(60, MESSAGES / 50), what="before the wipe")

    wiped.wipe()
    wiped.start()
    t_back = time.monotonic()
    load.wait_receipts(200, since=t_back, what="while the wiped replica catches up")
    load.stop()
    st = c.wait_caught_up(wiped, timeout=120)
    assert st["master"] == m.node_id, st
    log = wiped.logs[-1].read_text(errors="replace")
    assert "checkpoint loaded" in log, f"{wiped.node_id} did not catch up by checkpoint:\n{log[-3000:]}"

    # Make the rebuilt node the only possible successor, then hand it mastership.
    other.kill9()
    t_step = time.monotonic()
    code, body = m.step_down()
    assert code == 200, f"step-down on the master: {code} {body}"
    try:
        new = c.wait_for_new_master(m)
    except AssertionError as e:
        raise AssertionError(f"after POST /step-down on {m.node_id}, with {other.node_id} down, "
                             f"the caught-up {wiped.node_id} never took over: {e}") from None
    assert new is wiped, f"{new.node_id} took over, not the rebuilt {wiped.node_id}"

    drained = drain(c, [q], expect=expected_in_drain(load))
    check(load, drained, failovers=[t_step]).assert_ok()
    c.assert_one_master_per_epoch()
