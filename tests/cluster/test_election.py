"""Election: one master, replicas that refuse clients and name it, and
ZooKeeper (read with zkCli.sh, as ActiveMQ operators do) telling the same
story as every node's /status."""

import json
import time

from procs import poll, uid
from stompconn import Refused, Session, says_no_master, says_replica


def refusal(node):
    """The ERROR a node answers CONNECT with (the test fails if it accepts)."""
    s = Session(node.client_address)
    try:
        s.connect(timeout=10)
    except Refused as e:
        assert s.wait(lambda ss: ss.disconnected, 10), \
            f"{node.node_id} kept the connection open after its ERROR"
        return e
    s.close()
    raise AssertionError(f"{node.node_id} accepted a STOMP client but is not master")


def test_a_lone_broker_stays_candidate_and_says_no_master_is_elected(make_cluster):
    c = make_cluster(start=False)
    c.start(1)
    lone = c[1]
    c.wait_role(lone, "candidate")
    e = refusal(lone)
    assert says_no_master(e.message), e.headers
    assert e.master is None, f"a candidate must not name a master: {e.headers}"
    st = lone.status()
    assert st["master"] is None and st["master_address"] is None, st
    assert st["quorum_available"] is False, st
    assert not lone.ready(), "/readyz must not be 200 on a candidate"
    # One node of three is no quorum: it must not elect itself, however long it waits.
    time.sleep(3)  # longer than the 2 s session timeout
    assert not c.monitor.ever_master(lone.node_id), "one broker of three elected itself"
    c.start(2, 3)
    c.master()


def test_one_master_replicas_name_it_and_zookeeper_agrees(make_cluster):
    c = make_cluster()
    m = c.master()
    mst = m.status()
    assert mst["master"] == m.node_id and mst["master_address"] == m.client_address, mst
    assert mst["quorum_available"] is True, mst
    replicas = {r["node_id"]: r for r in mst["replicas"]}
    assert set(replicas) == {r.node_id for r in c.others(m)}, mst["replicas"]

    for r in c.others(m):
        e = refusal(r)
        assert says_replica(e.message), e.headers
        assert e.master == m.client_address, e.headers
        st = r.status()
        assert st["role"] == "replica", st
        assert poll(r.ready, f"/readyz 200 on caught-up replica {r.node_id}", 20)
        assert (st["master"], st["master_address"], st["epoch"]) == (
            m.node_id, m.client_address, mst["epoch"]), st

    # What an operator sees in ZooKeeper.
    zdoc = json.loads(c.zk.zkcli_get(f"{c.zk_path}/master"))
    assert zdoc["id"] == m.node_id and zdoc["client"] == m.client_address, zdoc
    assert zdoc["epoch"] == mst["epoch"], zdoc
    assert int(c.zk.zkcli_get(f"{c.zk_path}/epoch")) >= mst["epoch"]
    assert sorted(c.zk.zkcli_ls(f"{c.zk_path}/nodes")) == ["b1", "b2", "b3"]
    for n in c.nodes.values():
        ndoc = json.loads(c.zk.zkcli_get(f"{c.zk_path}/nodes/{n.node_id}"))
        assert ndoc["id"] == n.node_id and ndoc["client"] == n.client_address, ndoc

    # The master serves: a persistent message goes round trip.
    q = uid("elect")
    s = Session(m.client_address).connect()
    try:
        assert s.subscribe(f"/queue/{q}", "s1", ack="auto")
        s.send(f"/queue/{q}", "hello", receipt="r1", persistent="true", **{"test-id": "hello"})
        assert s.wait_receipt("r1"), s.error_messages()
        frame, _ = s.inbox.get(timeout=30)
        assert frame.body == "hello" and frame.headers["test-id"] == "hello"
    finally:
        s.close()
    c.assert_one_master_per_epoch()


def test_step_down_hands_mastership_to_a_caught_up_replica(make_cluster):
    c = make_cluster()
    m = c.master()
    for r in c.others(m):
        code, body = r.step_down()
        assert code == 409, f"step-down on replica {r.node_id}: {code} {body}"
    old_epoch = m.status()["epoch"]
    code, body = m.step_down()
    assert code == 200, f"step-down on the master: {code} {body}"
    new = c.wait_for_new_master(m)
    st = c.wait_role(m, "replica")
    assert st["master"] == new.node_id, st
    assert new.status()["epoch"] > old_epoch, "a handover must start a new epoch"
    c.assert_one_master_per_epoch()
