"""ZooKeeper itself fails: one server of three, then the whole ensemble.

One lost server leaves ZooKeeper a quorum, so the brokers must keep
serving. With the whole ensemble down nobody can be sure of mastership,
so service may stop, but it must come back once ZooKeeper does, with
every receipted message still there. These tests get their own ensemble.
"""

import time

import pytest

from checker import check, drain, expected_in_drain
from loadgen import Load
from procs import uid

ENSEMBLE_DOWN = 4.0  # seconds with no ZooKeeper at all: past the 2 s session timeout


@pytest.mark.parametrize("lost", ["follower", "leader"])
def test_one_zookeeper_server_lost_then_the_whole_ensemble_restarted(make_cluster, lost):
    # Losing ZooKeeper's leader also makes the ensemble elect anew: every
    # broker's session sees a disconnect, and none may be expired by it.
    c = make_cluster(own_zk=True)
    zk = c.zk
    q = uid("zkfault")
    load = Load(c, q, producers=2, consumers=1).start()
    load.wait_receipts(100, what="before any ZooKeeper fault")

    victim = next(i for i, mode in zk.modes().items() if mode == lost)
    t_one = time.monotonic()
    zk.kill(victim)
    load.wait_receipts(100, since=t_one, what=f"with the ZooKeeper {lost} down")
    c.master()  # still exactly one agreed master
    zk.start(victim)

    t_all = time.monotonic()
    for s in zk.servers:
        s.kill()
    time.sleep(ENSEMBLE_DOWN)
    zk.start(timeout=60)
    t_back = time.monotonic()
    c.master(timeout=40)
    load.wait_receipts(100, since=t_back, what="after the ensemble came back")
    load.stop()

    drained = drain(c, [q], expect=expected_in_drain(load))
    check(load, drained, failovers=[t_one, t_all]).assert_ok()
    c.assert_one_master_per_epoch()
