"""Fixtures: ZooKeeper ensembles, iptables partitions, three-broker clusters.

Most tests share one session-wide ensemble, each on its own --zk-path;
tests that kill ZooKeeper servers get their own. Cluster tests skip with
a reason while the broker binary has no cluster mode (no --zk-address in
--help), unless FERROMQ_REQUIRE_CLUSTER=1 makes that a failure. Everything
a fixture starts it stops by PID; on failure every broker's log tail is
printed, as tests/conformance does.
"""

import os

import pytest

from brokernode import cluster_support
from cluster import Cluster
from netfault import Partitions, available
from procs import pid_alive
from zk import Ensemble
from zk import available as zk_available

REQUIRE = os.environ.get("FERROMQ_REQUIRE_CLUSTER") == "1"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request):
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.failed


def _unavailable(why):
    if REQUIRE:
        pytest.fail(f"{why} (FERROMQ_REQUIRE_CLUSTER=1)")
    pytest.skip(why)


def _close_ensemble(e):
    pids = e.pids()
    e.close()
    stray = [p for p in pids if pid_alive(p)]
    assert not stray, f"ZooKeeper servers still running after close: {stray}"


def _require_zookeeper():
    ok, why = zk_available()
    if not ok:
        _unavailable(why)


@pytest.fixture
def ensemble_factory(tmp_path):
    """make(start=True) -> an Ensemble of its own under tmp_path."""
    _require_zookeeper()
    made = []

    def make(start=True):
        e = Ensemble(tmp_path / f"zk-ensemble-{len(made)}")
        made.append(e)
        if start:
            e.start()
        return e

    yield make
    for e in made:
        _close_ensemble(e)


@pytest.fixture(scope="session")
def zk_shared(tmp_path_factory):
    """One ensemble for every test that does not break ZooKeeper itself."""
    _require_zookeeper()
    e = Ensemble(tmp_path_factory.mktemp("zk-shared"))
    e.start()
    yield e
    _close_ensemble(e)


@pytest.fixture
def partitions():
    ok, why = available()
    if not ok:
        _unavailable(f"partition tests need iptables as root: {why}")
    p = Partitions().setup()
    yield p
    p.teardown()


@pytest.fixture(scope="session")
def cluster_binary():
    ok, why = cluster_support()
    if not ok:
        _unavailable(why)


@pytest.fixture
def make_cluster(request, tmp_path, cluster_binary, ensemble_factory):
    """make(own_zk=False, partitions=False, start=True, **Cluster kwargs) -> Cluster.

    With start=True all brokers start and one agreed master must appear."""
    made = []

    def make(own_zk=False, partitions=False, start=True, **kw):
        zk = ensemble_factory() if own_zk else request.getfixturevalue("zk_shared")
        if not own_zk:
            for s in zk.servers:  # a test must not inherit a broken shared ensemble
                if not s.alive():
                    s.start()
            zk.wait_ready(timeout=60)
        parts = request.getfixturevalue("partitions") if partitions else None
        c = Cluster(tmp_path / f"cluster-{len(made)}", zk, partitions=parts, **kw)
        made.append((c, zk, own_zk))
        if start:
            c.start()
            c.master()
        return c

    yield make
    for c, zk, own_zk in made:
        if _failed(request):
            print(f"\n===== zk-path {c.zk_path}: node states {list(c.nodes.values())} =====")
            print("role timeline (from /status samples):\n  " + "\n  ".join(c.monitor.transitions()))
            print(c.log_tails())
            if own_zk:
                print(zk.log_tails(20))
        c.close()
