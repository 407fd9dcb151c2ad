"""Self-checks of the load generator and the delivery checker.

The checker must be able to fail (a checker that never finds a loss proves
nothing), and the producers' reconnect logic must hold against a real
broker. A standalone ferromq-broker (no cluster mode needed) restarted
with kill -9 under load is the real thing here: it guarantees durability
of receipted messages on its own, so any loss reported is the harness's.
"""

import time
from types import SimpleNamespace

import pytest

from brokernode import BrokerNode, broker_bin
from checker import check, drain, expected_in_drain
from loadgen import Load
from procs import poll, uid


def _fake(sent, receipted):
    return SimpleNamespace(sent=dict.fromkeys(sent), receipted=dict.fromkeys(receipted))


def test_checker_reports_loss_unknown_ids_comebacks_and_duplicates():
    p = _fake(["a", "b", "c", "d"], ["a", "b", "c"])
    consumer = SimpleNamespace(deliveries=[("b", False, 1.0, 1), ("c", False, 2.0, 1)],
                               acked={"c": 2.5})
    drained = [("b", False, 3.0), ("c", False, 4.0), ("zz", False, 5.0), ("d", False, 6.0)]
    r = check([p], drained, consumers=[consumer])
    assert r.missing == ["a"]
    assert r.unknown == ["zz"]
    assert [a.split(":")[0] for a in r.acked_came_back] == ["c"]
    assert sorted(d.split(":")[0] for d in r.dup_unexplained) == ["b", "c"]
    assert r.unconfirmed_delivered == 1  # "d": sent, never receipted, delivered anyway
    with pytest.raises(AssertionError, match="lost"):
        r.assert_ok()
    # The same duplicates are fine when flagged redelivered or across a failover.
    r = check([p], [("a", False, 0.5), ("b", True, 3.0), ("c", False, 4.0)],
              consumers=[SimpleNamespace(deliveries=consumer.deliveries, acked={})],
              failovers=[3.5])
    assert (r.dup_redelivered, r.dup_after_failover, r.dup_unexplained) == (1, 1, [])
    r.assert_ok()


class StandaloneNode(BrokerNode):
    """A broker without cluster flags, on broker 1's loopback address."""

    def argv(self):
        return [broker_bin(), "--data-dir", self.data_dir, "--node-id", self.node_id,
                "--listen", self.client_address, "--admin-listen", f"{self.host}:{self.admin_port}"]


class OneNodeCluster:
    """Just enough of Cluster for Load and drain: the one node is the master."""

    def __init__(self, node):
        self.node = node

    def master_address(self):
        return self.node.client_address if self.node.ready() else None

    def master(self, timeout=30):
        return poll(lambda: self.node.ready() and self.node, "the standalone broker ready", timeout)


def test_load_survives_a_kill_9_restart_of_a_standalone_broker(request, tmp_path):
    if not broker_bin().exists():
        pytest.skip(f"no broker binary at {broker_bin()}")
    node = StandaloneNode(1, tmp_path, "", "", "")
    try:
        node.start()
        c = OneNodeCluster(node)
        c.master()
        q = uid("standalone")
        load = Load(c, q, producers=2, consumers=1).start()
        load.wait_receipts(300, what="before the crash")
        t_kill = time.monotonic()
        node.restart()  # kill -9, same data dir and ports
        load.wait_receipts(300, since=time.monotonic(), what="after the restart")
        load.stop()
        reconnects = sum(len(p.sessions) for p in load.producers)
        assert reconnects >= 4, f"producers did not reconnect: {reconnects} sessions"
        drained = drain(c, [q], expect=expected_in_drain(load))
        check(load, drained, failovers=[t_kill]).assert_ok()
    except BaseException:
        print(node.log_tails())
        raise
    finally:
        node.cleanup()
