"""Self-checks of the harness itself: they need no cluster-mode broker.

If the ensemble, the proxies or the iptables chain misbehaved, the fault
tests would prove nothing (a "partition" that drops nothing passes every
test), so each piece is checked here against the real thing.
"""

import json
import os
import re
import socket
import stat

import pytest

if os.environ.get("FERROMQ_REQUIRE_CLUSTER") != "1":
    pytest.importorskip("kazoo", reason="pip install -r tests/cluster/requirements.txt")
from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.handlers.threading import KazooTimeoutError

import brokernode
from netfault import Partitions
from procs import pid_alive, poll, uid
from zk import four_letter
from zkproxy import ZkProxy


def kazoo(hosts, timeout=2.0):
    c = KazooClient(hosts=hosts, timeout=timeout, connection_retry={"max_tries": -1, "max_delay": 0.5})
    c.start(timeout=15)
    return c


def test_ensemble_elects_survives_a_lost_server_and_restarts(ensemble_factory):
    zk = ensemble_factory()
    assert sorted(zk.modes().values()) == ["follower", "follower", "leader"]
    pids = zk.pids()
    leader = zk.leader()
    zk.kill(leader)
    assert not pid_alive(pids[leader - 1])
    modes = zk.wait_ready()
    assert leader not in modes and sorted(modes.values()) == ["follower", "leader"]
    zk.zkcli("create", "/kept", "across-restarts")  # two of three still form a quorum
    zk.start(leader)
    assert len(zk.wait_ready()) == 3
    zk.restart_all()
    assert sorted(zk.modes().values()) == ["follower", "follower", "leader"]
    assert zk.zkcli_get("/kept") == "across-restarts"
    assert zk.zkcli_get("/never-created") is None
    old = set(pids) | set(zk.pids())
    zk.close()
    assert not [p for p in old if pid_alive(p)], "a ZooKeeper JVM outlived close()"


def test_zkcli_shows_json_a_client_wrote(zk_shared):
    path = f"/ferromq/{uid('h')}/master"
    doc = {"id": "b2", "epoch": 7, "client": "127.0.0.12:61613"}
    c = kazoo(zk_shared.connect_string)
    try:
        c.create(path, json.dumps(doc).encode(), ephemeral=True, makepath=True)
        assert json.loads(zk_shared.zkcli_get(path)) == doc
    finally:
        c.stop()
        c.close()


def test_a_two_second_session_timeout_is_negotiated(zk_shared):
    c = kazoo(zk_shared.connect_string, timeout=2.0)
    try:
        sid = f"0x{c.client_id[0]:x}"
        # `cons` lists each connection with its session id and negotiated timeout.
        cons = [four_letter(s.client_port, "cons") or "" for s in zk_shared.servers]
        line = next((ln for out in cons for ln in out.splitlines() if f"sid={sid}" in ln), None)
        assert line, f"session {sid} not found in cons output: {cons}"
        assert re.search(r"\bto=2000\b", line), line
    finally:
        c.stop()
        c.close()


def test_proxy_forwards_then_blackholes_then_heals(zk_shared):
    proxy = ZkProxy(zk_shared.client_addresses)
    direct = kazoo(zk_shared.connect_string)
    via = kazoo(proxy.address, timeout=2.0)
    path = f"/ferromq/{uid('p')}"
    try:
        assert proxy.connections() == 1
        via.create(path, b"through-the-proxy", ephemeral=True, makepath=True)
        assert direct.get(path)[0] == b"through-the-proxy"
        old_session = via.client_id[0]

        proxy.blackhole()
        with pytest.raises((KazooTimeoutError, KazooException)):
            via.get_async(path).get(timeout=1.5)
        # Nothing reaches the ensemble, so the session expires and its ephemeral goes.
        poll(lambda: direct.exists(path) is None, "the blackholed session's ephemeral to go", 20)
        assert proxy.connections() >= 1, "blackhole must keep the sockets open"

        proxy.heal()
        poll(lambda: via.connected and via.client_id[0] != old_session,
             "the client back on a new session after heal", 30)
        via.create(path, b"again", ephemeral=True)
        assert direct.get(path)[0] == b"again"
    finally:
        for c in (via, direct):
            c.stop()
            c.close()
        proxy.close()
    assert proxy.connections() == 0


def test_proxy_refuses_when_its_server_is_down(ensemble_factory):
    zk = ensemble_factory()
    proxy = ZkProxy(zk.client_addresses)
    try:
        zk.kill(1)
        zk.wait_ready()
        assert four_letter(proxy.ports[0], "ruok") in (None, "")
        assert four_letter(proxy.ports[1], "ruok") == "imok"
    finally:
        proxy.close()


def test_partitions_drop_between_two_addresses_and_clean_up(partitions):
    srv = socket.socket()
    srv.bind(("127.0.0.11", 0))
    srv.listen(4)
    port = srv.getsockname()[1]

    def reach(src):
        c = socket.socket()
        c.bind((src, 0))
        c.settimeout(1.0)
        try:
            c.connect(("127.0.0.11", port))
            return True
        except OSError:
            return False
        finally:
            c.close()

    try:
        partitions.cut("127.0.0.11", "127.0.0.12")
        assert not reach("127.0.0.12"), "the cut did not drop traffic"
        assert reach("127.0.0.13") and reach("127.0.0.1"), "the cut dropped unrelated traffic"
        partitions.heal()
        assert reach("127.0.0.12")
        partitions.cut("127.0.0.11", "127.0.0.12")
        partitions.teardown()
        assert not Partitions.chain_exists()
        assert reach("127.0.0.12"), "teardown left a DROP rule behind"
    finally:
        srv.close()


def test_cluster_mode_is_detected_from_help(tmp_path, monkeypatch):
    fake = tmp_path / "ferromq-broker"
    fake.write_text("#!/bin/sh\necho 'Usage: ferromq-broker [--data-dir D] [--listen H:P]'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("FERROMQ_BROKER_BIN", str(fake))
    brokernode.cluster_support.cache_clear()
    try:
        ok, why = brokernode.cluster_support()
        assert not ok and "--zk-address" in why
        fake.write_text("#!/bin/sh\necho '  --zk-address <ADDR>  ZooKeeper connect string'\n")
        brokernode.cluster_support.cache_clear()
        assert brokernode.cluster_support() == (True, "")
        monkeypatch.setenv("FERROMQ_BROKER_BIN", str(tmp_path / "missing"))
        brokernode.cluster_support.cache_clear()
        assert "not found" in brokernode.cluster_support()[1]
    finally:
        monkeypatch.undo()
        brokernode.cluster_support.cache_clear()
    assert os.environ.get("FERROMQ_BROKER_BIN") != str(fake)
