"""Failover: the master dies under load; and the stale replica must lose.

Invariant 1 (no receipted loss) and invariant 3 (latest update wins) of
DESIGN.md, with a real kill -9 and real STOMP clients that follow the
cluster to its new master.
"""

import time

import pytest

from checker import check, drain, expected_in_drain
from loadgen import Load, Producer
from procs import poll, uid


def test_kill_9_of_the_master_under_load_loses_nothing_and_it_rejoins(make_cluster):
    c = make_cluster()
    m = c.master()
    q = uid("kill9")
    load = Load(c, q, producers=2, consumers=1).start()
    load.wait_receipts(200, what="before the crash")

    t_kill = time.monotonic()
    m.kill9()
    new = c.wait_for_new_master(m)  # bounded: a new master serves within 20 s
    load.wait_receipts(100, since=c.master_seen_at, what="from the new master")

    m.start()  # same data dir: it must come back as a replica and catch up
    load.wait_receipts(100, since=time.monotonic(), what="while the old master rejoins")
    load.stop()
    st = c.wait_caught_up(m)
    assert st["master"] == c.master().node_id, st

    drained = drain(c, [q], expect=expected_in_drain(load))
    check(load, drained, failovers=[t_kill]).assert_ok()
    c.assert_one_master_per_epoch()
    assert new is not m


def _send_receipted(cluster, q, name, n, timeout=60):
    """A producer that stops after n receipted messages (bounded)."""
    p = Producer(cluster, q, name, window=16, limit=n)
    p.start()
    poll(lambda: p.receipted_count() >= n, f"{n} receipts for {name}", timeout)
    p.stop()
    return p


@pytest.mark.parametrize("how", ["sigstop", "kill9"])
def test_latest_update_wins_over_a_stale_replica_with_more_weight(make_cluster, how):
    # The stale replica gets the higher weight: a tie-break taken before
    # positions would elect it and lose what only the other replica has.
    c = make_cluster(weights={1: 1, 2: 50, 3: 100})
    m = c.master()
    stale, fresh = sorted(c.others(m), key=lambda n: -n.weight)
    q = uid("latest")
    early = _send_receipted(c, q, f"{q}-all", 50)  # on all three

    t_stale = time.monotonic()
    if how == "sigstop":
        stale.pause()
    else:
        stale.kill9()
    late = _send_receipted(c, q, f"{q}-two", 300)  # on master and fresh only
    fresh_pos = fresh.status()["position"]

    t_kill = time.monotonic()
    m.kill9()
    if how == "sigstop":
        stale.resume()
    else:
        stale.start()

    new = c.wait_for_new_master(m)
    assert new is fresh, (f"{new.node_id} was elected over {fresh.node_id}, which holds "
                          f"the receipted entries up to {fresh_pos}")
    assert not c.monitor.ever_master(stale.node_id, since=t_stale), \
        f"stale {stale.node_id} was master at some point"
    c.wait_caught_up(stale)

    drained = drain(c, [q], expect=set(early.receipted) | set(late.receipted))
    check([early, late], drained, failovers=[t_kill]).assert_ok()
    c.assert_one_master_per_epoch()
