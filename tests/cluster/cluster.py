"""Three brokers on one ZooKeeper path: who is master, faults, invariants.

`master()` trusts no single node: it polls /status of every live node until
exactly one says it is master, serves (/readyz), and every other agrees.
A background `RoleMonitor` samples every node's /status for the whole test,
so a test can assert what must never happen even briefly: two masters in
one epoch, or a stale node becoming master.
"""

import threading
import time
import uuid

from brokernode import BrokerNode
from procs import Miss, poll, stop_all
from zkproxy import ZkProxy

FAILOVER_TIMEOUT = 20.0  # "a new master serves within 20 s"


class RoleMonitor(threading.Thread):
    """Samples (time, node_id, role, epoch, position) from every live node."""

    def __init__(self, cluster, interval=0.1):
        super().__init__(daemon=True, name="role-monitor")
        self.cluster, self.interval = cluster, interval
        self.samples, self.lock, self.stopped = [], threading.Lock(), threading.Event()

    def run(self):
        while not self.stopped.wait(self.interval):
            for n in list(self.cluster.nodes.values()):
                st = n.status(timeout=0.5)
                if st:
                    with self.lock:
                        self.samples.append((time.monotonic(), st.get("node_id"), st.get("role"),
                                             st.get("epoch"), st.get("position")))

    def stop(self):
        self.stopped.set()
        self.join(timeout=5)

    def history(self):
        with self.lock:
            return list(self.samples)

    def masters_by_epoch(self):
        out = {}
        for _, node, role, epoch, _ in self.history():
            if role == "master":
                out.setdefault(epoch, set()).add(node)
        return out

    def transitions(self):
        """The samples where a node's (role, epoch) changed: a readable timeline."""
        last, out = {}, []
        t0 = self.samples[0][0] if self.samples else 0.0
        for t, node, role, epoch, pos in self.history():
            if last.get(node) != (role, epoch):
                last[node] = (role, epoch)
                out.append(f"+{t - t0:7.2f}s {node} {role} epoch={epoch} position={pos}")
        return out

    def ever_master(self, node_id, since=0.0):
        return [s for s in self.history() if s[1] == node_id and s[2] == "master" and s[0] >= since]


class Cluster:
    """Brokers b1..bN (1-based), each behind its own ZooKeeper proxy by default."""

    def __init__(self, root, zk, size=3, proxies=True, quorum_timeout="10s", weights=None,
                 extra_args=(), partitions=None):
        self.zk, self.partitions = zk, partitions
        self.zk_path = f"/ferromq/{uuid.uuid4().hex[:12]}"
        token = uuid.uuid4().hex
        weights = weights or {}
        self.proxies = {i: ZkProxy(zk.client_addresses, f"zkproxy-b{i}")
                        for i in range(1, size + 1)} if proxies else {}
        self.nodes = {i: BrokerNode(i, root, self.proxies[i].address if proxies else
                                    zk.connect_string, self.zk_path, token, weights.get(i, 1),
                                    quorum_timeout, size, extra_args)
                      for i in range(1, size + 1)}
        self.monitor = RoleMonitor(self)
        self.loads = []  # Load objects register here, so close() stops them
        self.master_seen_at = None  # monotonic time wait_for_new_master saw it serving

    def __getitem__(self, i):
        return self.nodes[i]

    def start(self, *ids):
        """Start the given nodes (default: all), each up to its admin port; no master wait."""
        for i in ids or self.nodes:
            self.nodes[i].start()
        if self.monitor.ident is None:
            self.monitor.start()
        return self

    def live(self):
        return [n for n in self.nodes.values() if n.alive() and not n.paused]

    def others(self, node):
        return [n for n in self.nodes.values() if n is not node]

    def statuses(self, nodes=None):
        return {n.node_id: n.status() for n in (nodes or self.live())}

    # -- who is master ---------------------------------------------------------
    def _agreed_master(self, among):
        sts = {n.i: n.status() for n in among}
        masters = [i for i, s in sts.items() if s and s.get("role") == "master"]
        if len(masters) != 1:
            return Miss({self[i].node_id: (s or {}).get("role") for i, s in sts.items()})
        m = self[masters[0]]
        if not m.ready():
            return Miss(f"{m.node_id} says master but /readyz is not 200")
        for i, s in sts.items():
            if i != m.i and (s is None or s.get("master") != m.node_id):
                return Miss(f"{self[i].node_id} says master={None if s is None else s.get('master')}"
                            f", not {m.node_id}")
        return m

    def master(self, among=None, timeout=FAILOVER_TIMEOUT):
        """The one master all live nodes (or `among`) agree on, polled (bounded)."""
        return poll(lambda: self._agreed_master(among or self.live()),
                    "one agreed, serving master", timeout)

    def wait_for_new_master(self, old, timeout=FAILOVER_TIMEOUT):
        """A serving master other than `old`, agreed by the live nodes except `old`.

        Records when it was first seen serving in `master_seen_at`."""
        def found():
            m = self._agreed_master([n for n in self.live() if n is not old])
            return m if m and m is not old else Miss(m)
        m = poll(found, f"a new master other than {old.node_id}", timeout)
        self.master_seen_at = time.monotonic()
        return m

    def master_address(self):
        """Client address of the current master as the nodes report it, or None.

        Quick (no waiting): producers call it in their reconnect loops."""
        best = None
        for n in self.live():
            st = n.status(timeout=1)
            if not st:
                continue
            if st.get("role") == "master":
                if best is None or (st.get("epoch") or 0) > best[0]:
                    best = (st.get("epoch") or 0, n.client_address)
            elif st.get("master_address") and best is None:
                best = (-1, st["master_address"])
        return best[1] if best else None

    def wait_role(self, node, role, timeout=30):
        """Poll node's /status until it reports `role`; returns that status."""
        def has_role():
            st = node.status()
            return st if st and st.get("role") == role else Miss(st and st.get("role"))
        return poll(has_role, f"{node.node_id} to report role {role}", timeout)

    def wait_deposed(self, node, timeout=40):
        """Poll until node no longer claims mastership (candidate or replica is fine)."""
        def deposed():
            st = node.status()
            return st if st and st.get("role") != "master" else Miss(st and st.get("role"))
        return poll(deposed, f"{node.node_id} to stop claiming mastership", timeout)

    def wait_caught_up(self, node, timeout=60):
        """Wait until `node` is a replica whose position reached the master's commit index."""
        m = self.master()
        target = m.status()["commit_index"]

        def caught_up():
            st = node.status()
            if not st or st.get("role") != "replica":
                return Miss(st and st.get("role"))
            pos = st.get("position") or {}
            return st if (pos.get("index") or 0) >= target else Miss(pos)
        return poll(caught_up, f"{node.node_id} to reach commit index {target} of {m.node_id}",
                    timeout, interval=0.2)

    # -- faults ------------------------------------------------------------------
    def cut(self, i, j):
        """Drop all traffic between brokers i and j (both directions)."""
        assert self.partitions is not None, "use the `partitions` fixture to cut links"
        self.partitions.cut(self[i].host, self[j].host)

    def isolate(self, node):
        for other in self.others(node):
            self.cut(node.i, other.i)

    def heal(self):
        if self.partitions is not None:
            self.partitions.heal()
        for p in self.proxies.values():
            p.heal()

    def zk_blackhole(self, node):
        self.proxies[node.i].blackhole()

    # -- invariants and teardown -------------------------------------------------
    def assert_one_master_per_epoch(self):
        split = {e: ns for e, ns in self.monitor.masters_by_epoch().items() if len(ns) > 1}
        assert not split, f"two masters in one epoch (split brain): {split}"

    def close(self):
        for load in self.loads:
            load.abandon()
        self.monitor.stop()
        stop_all([n.proc for n in self.nodes.values()], timeout=3)
        for p in self.proxies.values():
            p.close()

    def log_tails(self, n=40):
        return "\n".join(node.log_tails(n) for node in self.nodes.values())
