"""Partitions: the master loses its replicas, or loses ZooKeeper.

Either way it can no longer be sure it is master, a new one is elected
among the other two, clients follow it, nothing receipted is lost, and
once the network heals the old master returns as a replica of the new one.
The cut is silent (iptables DROP; a blackholing proxy for ZooKeeper), so
the broker must find out by timeouts, as it would on a real network.
"""

import time

from checker import check, drain, expected_in_drain
from loadgen import Load
from procs import uid


def _rejoin_and_check(c, old, load, q, t_cut):
    c.heal()
    st = c.wait_role(old, "replica", timeout=40)
    assert st["master"] == c.master().node_id, st
    load.stop()
    c.wait_caught_up(old)
    drained = drain(c, [q], expect=expected_in_drain(load))
    check(load, drained, failovers=[t_cut]).assert_ok()
    c.assert_one_master_per_epoch()


def test_master_cut_off_from_both_replicas(make_cluster):
    c = make_cluster(partitions=True)
    m = c.master()
    q = uid("cut")
    load = Load(c, q, producers=2, consumers=1).start()
    load.wait_receipts(150, what="before the cut")

    t_cut = time.monotonic()
    c.isolate(m)
    new = c.wait_for_new_master(m)
    load.wait_receipts(100, since=c.master_seen_at, what="from the new master")
    # Alone it reaches no quorum: it may not have receipted anything since.
    late = load.receipts_on(m.client_address, c.master_seen_at)
    assert not late, f"the cut-off master receipted after {new.node_id} took over: {late[:5]}"
    # It still has its ZooKeeper session, but it must give up serving.
    c.wait_deposed(m)
    _rejoin_and_check(c, m, load, q, t_cut)


def test_master_cut_off_from_zookeeper(make_cluster):
    c = make_cluster()
    m = c.master()
    q = uid("zkcut")
    load = Load(c, q, producers=2, consumers=1).start()
    load.wait_receipts(150, what="before the cut")

    t_cut = time.monotonic()
    c.zk_blackhole(m)
    new = c.wait_for_new_master(m)
    # Invariant 5: a master that cannot be sure of its session stops serving
    # before another can be elected, so by now it must not claim mastership.
    st = m.status()
    assert st is None or st.get("role") != "master", f"{m.node_id} still master: {st}"
    load.wait_receipts(100, since=c.master_seen_at, what="from the new master")
    late = load.receipts_on(m.client_address, c.master_seen_at)
    assert not late, f"the master without ZooKeeper receipted after {new.node_id} " \
                     f"took over: {late[:5]}"
    _rejoin_and_check(c, m, load, q, t_cut)
