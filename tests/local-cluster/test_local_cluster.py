"""`scripts/local-cluster` as a new user runs it: up, status, a failover, down.

The script starts a real three-server ZooKeeper ensemble and three brokers
on loopback. This test runs it on a /24 of its own (127.0.77.0, so a
cluster the user left running on 127.0.0.x is not disturbed), sends a
receipted persistent message with stomp.py, kills the master with -9 as
`status` says to, waits for a new master, receives the message from it,
then checks that `down` left none of the processes `up` started.

Skips while the broker binary or ZooKeeper is missing, unless
FERROMQ_REQUIRE_CLUSTER=1 makes that a failure.
"""

import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import stomp

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "local-cluster"
NET = "127.0.77"
NODES = (1, 2, 3)
TIMEOUT = 30


def broker_bin():
    if os.environ.get("FERROMQ_BROKER_BIN"):
        return Path(os.environ["FERROMQ_BROKER_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR") or Path.home() / ".cache" / "ferromq" / "target"
    return Path(target) / "debug" / "ferromq-broker"


def require(ok, why):
    if ok:
        return
    if os.environ.get("FERROMQ_REQUIRE_CLUSTER") == "1":
        pytest.fail(f"{why} (FERROMQ_REQUIRE_CLUSTER=1)")
    pytest.skip(why)


def run(*args, timeout=120):
    r = subprocess.run([str(SCRIPT), *args], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == 0, f"local-cluster {args} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def node_status(i):
    url = f"http://{NET}.1{i}:8161/status"
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.load(r)
    except OSError:
        return None


def poll(pred, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def masters(status_out):
    """Node ids whose row in `status` says master."""
    return re.findall(r"^(b\d)\s+\d+\s+\S+\s+master\b", status_out, re.M)


class Client(stomp.ConnectionListener):
    """One stomp.py 1.2 connection with a receipt and a message it waits for."""

    def __init__(self, i):
        self.cond = threading.Condition()
        self.receipts, self.messages = set(), []
        self.conn = stomp.Connection12([(f"{NET}.1{i}", 61613)], prefer_localhost=False,
                                       try_loopback_connect=False, reconnect_attempts_max=1)
        self.conn.set_listener("t", self)
        self.conn.connect(wait=True, headers={"host": "ferromq"})

    def on_receipt(self, frame):
        with self.cond:
            self.receipts.add(frame.headers.get("receipt-id"))
            self.cond.notify_all()

    def on_message(self, frame):
        with self.cond:
            self.messages.append(frame)
            self.cond.notify_all()

    def wait(self, pred):
        with self.cond:
            assert self.cond.wait_for(pred, TIMEOUT), "no answer from the broker in time"

    def close(self):
        self.conn.disconnect()


@pytest.fixture
def cluster_dir(tmp_path):
    require(broker_bin().exists(), f"broker binary not found at {broker_bin()}")
    require(Path("/usr/share/java/zookeeper.jar").exists(),
            "ZooKeeper not installed (apt-get install zookeeper)")
    d = tmp_path / "ferromq-local"
    yield d
    # Whatever the test did, leave nothing running.
    subprocess.run([str(SCRIPT), "down", str(d)], stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=120)


def started_pids(d):
    return {p.parent.name: int(p.read_text()) for p in d.glob("*/pid")}


def test_up_failover_down(cluster_dir):
    d = cluster_dir
    out = run("up", str(d), "--broker", str(broker_bin()), "--net", NET)
    pids = started_pids(d)
    assert sorted(pids) == ["b1", "b2", "b3", "zk1", "zk2", "zk3"], out
    assert len(masters(out)) == 1, out

    status = run("status", str(d))
    [master] = masters(status)
    i = int(master[1:])
    assert f"kill -9 {pids[master]}" in status, status
    for n in NODES:
        st = node_status(n)
        assert st and st["master"] == master, st
    first_epoch = node_status(i)["epoch"]

    producer = Client(i)
    producer.conn.send("/queue/local-cluster", "kept across failover",
                       headers={"persistent": "true", "receipt": "r1"})
    producer.wait(lambda: "r1" in producer.receipts)
    producer.close()

    os.kill(pids[master], signal.SIGKILL)

    def new_master():
        out = run("status", str(d))
        m = masters(out)
        return m[0] if len(m) == 1 and m[0] != master else None
    successor = poll(new_master, "a new master after kill -9 of " + master)
    st = node_status(int(successor[1:]))
    assert st["epoch"] > first_epoch, st

    consumer = poll(lambda: connect(int(successor[1:])), f"CONNECTED from {successor}")
    consumer.conn.subscribe("/queue/local-cluster", id="s", ack="client-individual")
    consumer.wait(lambda: consumer.messages)
    assert consumer.messages[0].body == "kept across failover"
    consumer.conn.ack(consumer.messages[0].headers["message-id"], "s")
    consumer.close()

    out = run("down", str(d))
    left = {name: pid for name, pid in pids.items() if pid_alive(pid)}
    assert not left, f"still running after down: {left}\n{out}"
    assert not list(d.glob("*/pid")), "down left PID files"


def connect(i):
    try:
        return Client(i)
    except Exception:  # noqa: BLE001 - not serving yet: poll again
        return None
