"""One ferromq-broker process of a cluster: flags, lifecycle, faults, admin.

Broker i gets its own loopback address 127.0.0.1{i} for STOMP, admin HTTP
and replication (--listen, --admin-listen, --bind, --hostname), so
iptables rules on addresses can cut it off from the other brokers. Its
ports stay the same across restarts, as a real host's would. Each start
logs to a new file, so the log of a node that was killed is kept.
"""

import functools
import os
import shutil
import signal
import subprocess
from pathlib import Path

from procs import REPO, TIMEOUT, free_port, http, http_json, poll, spawn, stop, tail

START_TIMEOUT = float(os.environ.get("FERROMQ_TEST_START_TIMEOUT", "60"))
LOG_FILTER = os.environ.get("FERROMQ_CLUSTER_LOG", "info")


def broker_bin():
    if os.environ.get("FERROMQ_BROKER_BIN"):
        return Path(os.environ["FERROMQ_BROKER_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR")
    target = Path(target) if target else Path.home() / ".cache" / "ferromq" / "target"
    if not (target / "debug" / "ferromq-broker").exists() and (REPO / "target").exists():
        target = REPO / "target"
    return target / "debug" / "ferromq-broker"


@functools.lru_cache(maxsize=1)
def cluster_support():
    """(ok, why): is there a broker binary, and does it have cluster mode?"""
    path = broker_bin()
    if not path.exists():
        return False, f"broker binary not found at {path} (set FERROMQ_BROKER_BIN or build it)"
    try:
        r = subprocess.run([str(path), "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"{path} --help failed: {e}"
    if "--zk-address" not in r.stdout + r.stderr:
        return False, f"{path} has no cluster mode yet (--help does not list --zk-address)"
    return True, ""


class BrokerNode:
    def __init__(self, i, root, zk_address, zk_path, token, weight=1, quorum_timeout="10s",
                 replicas=3, extra_args=()):
        self.i, self.node_id, self.host = i, f"b{i}", f"127.0.0.1{i}"
        self.dir = Path(root) / self.node_id
        self.data_dir = self.dir / "data"
        self.zk_address, self.zk_path, self.token = zk_address, zk_path, token
        self.weight, self.quorum_timeout, self.replicas = weight, quorum_timeout, replicas
        self.extra_args = list(extra_args)
        self.proc, self.paused, self.logs = None, False, []
        self._pick_ports()

    def _pick_ports(self):
        self.client_port, self.admin_port, self.repl_port = (free_port(self.host) for _ in range(3))

    def __repr__(self):
        return f"<{self.node_id} {self.state()}>"

    @property
    def client_address(self):
        """host:port of STOMP, as `master` headers and /status name it."""
        return f"{self.host}:{self.client_port}"

    def argv(self):
        return [broker_bin(), "--data-dir", self.data_dir, "--node-id", self.node_id,
                "--listen", self.client_address, "--admin-listen", f"{self.host}:{self.admin_port}",
                "--bind", f"{self.host}:{self.repl_port}", "--hostname", self.host,
                "--zk-address", self.zk_address, "--zk-path", self.zk_path,
                "--zk-session-timeout", "2s", "--replicas", str(self.replicas),
                "--weight", str(self.weight), "--sync", "quorum_disk",
                "--security-token", self.token, "--quorum-timeout", self.quorum_timeout,
                "--log", LOG_FILTER, *self.extra_args]

    # -- lifecycle -----------------------------------------------------------
    def start(self):
        """Launch and wait (bounded) until its admin HTTP answers /status.

        A node can be a candidate for a while, so this does not wait for
        /readyz; the cluster's master() does that."""
        assert not self.alive(), f"{self.node_id} already running"
        for attempt in range(3):
            log = self.dir / f"broker-{len(self.logs)}.log"
            self.logs.append(log)
            env = {k: v for k, v in os.environ.items() if not k.startswith("FERROMQ_")}
            env["RUST_BACKTRACE"] = "1"
            self.proc = spawn(self.argv(), log, env=env)
            self.paused = False
            try:
                poll(self._admin_up, f"{self.node_id} admin /status", START_TIMEOUT, 0.05)
                return self
            except AssertionError:
                clash = not self.alive() and "in use" in tail(log)
                if not clash or attempt == 2:
                    self.kill9()
                    raise AssertionError(f"{self.node_id} did not start:\n{tail(log)}")
                self._pick_ports()  # someone took a port meanwhile: new ones, bounded
        return self

    def _admin_up(self):
        if not self.alive():
            raise AssertionError(f"{self.node_id} exited {self.proc.returncode} during startup:\n"
                                 f"{tail(self.logs[-1])}")
        return self.status(timeout=1) is not None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def state(self):
        if not self.alive():
            return "down"
        return "paused" if self.paused else "up"

    def kill9(self):
        stop(self.proc, signal.SIGKILL)
        self.paused = False

    def terminate(self, timeout=TIMEOUT):
        """SIGTERM (drain) and wait; returns the exit code."""
        rc = stop(self.proc, signal.SIGTERM, timeout)
        self.paused = False
        return rc

    def pause(self):
        """SIGSTOP: the process keeps its sockets but does nothing at all."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def restart(self):
        """kill -9, then start on the same data dir and ports."""
        self.kill9()
        return self.start()

    def wipe(self):
        """kill -9 and delete the data dir: the node comes back empty."""
        self.kill9()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def cleanup(self):
        if self.alive():
            stop(self.proc, signal.SIGTERM, timeout=5)

    # -- admin ---------------------------------------------------------------
    def status(self, timeout=2.0):
        """/status JSON, or None when down, paused or not answering."""
        if not self.alive() or self.paused:
            return None
        return http_json(self.host, self.admin_port, "/status", timeout)

    def role(self):
        st = self.status()
        return st.get("role") if st else None

    def ready(self):
        if not self.alive() or self.paused:
            return False
        try:
            return http("GET", self.host, self.admin_port, "/readyz", timeout=2)[0] == 200
        except OSError:
            return False

    def step_down(self):
        """POST /step-down: (status code, body)."""
        return http("POST", self.host, self.admin_port, "/step-down", timeout=10)

    def log_tails(self, n=40):
        return "\n".join(f"----- {self.node_id} log {p} -----\n{tail(p, n)}" for p in self.logs)
