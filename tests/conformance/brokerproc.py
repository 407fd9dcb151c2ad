"""Runs the real ferromq-broker binary: start, readiness, signals, admin HTTP.

Every process started here is stopped by its PID, and every wait is bounded.
"""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from stompclient import TIMEOUT

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = float(os.environ.get("FERROMQ_TEST_START_TIMEOUT", "60"))


def broker_bin():
    if os.environ.get("FERROMQ_BROKER_BIN"):
        return Path(os.environ["FERROMQ_BROKER_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR")
    target = Path(target) if target else REPO / "target"
    return target / "debug" / "ferromq-broker"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=5.0):
    """(status, body text) of GET http://127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


class Broker:
    def __init__(self, data_dir, log_dir, args=(), env=None, node_id="test", build=None):
        """`build(broker) -> (argv tail, env)` replaces the standard flags when given
        (called after the ports are picked, e.g. to write a config file)."""
        self.bin = broker_bin()
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.args, self.env, self.node_id, self.build = list(args), env, node_id, build
        self.proc = None
        self.port = self.admin_port = None
        self.logs = []

    # -- lifecycle -----------------------------------------------------------
    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        for attempt in range(3):
            self._launch()
            try:
                self.wait_ready()
                return self
            except AssertionError:
                # A port picked as free can be taken (e.g. as some socket's
                # ephemeral port) before the broker binds it: retry, bounded.
                clash = self.proc.poll() is not None and "in use" in self.log_tail()
                if not clash or attempt == 2:
                    raise
        return self

    def _launch(self):
        self.port, self.admin_port = free_port(), free_port()
        log = self.log_dir / f"broker-{len(self.logs)}.log"
        self.stdout = self.log_dir / f"broker-{len(self.logs)}.stdout"
        self.logs.append(log)
        if self.build:
            tail, extra_env = self.build(self)
        else:
            tail = ["--data-dir", str(self.data_dir), "--listen", f"127.0.0.1:{self.port}",
                    "--admin-listen", f"127.0.0.1:{self.admin_port}",
                    "--node-id", self.node_id, *self.args]
            extra_env = self.env or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("FERROMQ_")}
        env.update(RUST_BACKTRACE="1", **extra_env)
        with open(log, "wb") as err, open(self.stdout, "wb") as out:
            self.proc = subprocess.Popen([str(self.bin), *tail], stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err, env=env)

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"broker exited with {self.proc.returncode} during "
                                     f"startup:\n{self.log_tail()}")
            try:
                if http_get(self.admin_port, "/readyz", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"broker not ready after {START_TIMEOUT}s:\n{self.log_tail()}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig, timeout=TIMEOUT * 2):
        """Send `sig` to the broker's PID and wait (bounded) for it to exit."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=timeout)
            raise AssertionError(f"broker ignored signal {sig} for {timeout}s")

    def terminate(self):
        return self.signal(signal.SIGTERM)

    def kill9(self):
        return self.signal(signal.SIGKILL)

    def restart(self):
        """kill -9 and start again on the same data dir (fresh ports)."""
        self.kill9()
        return self.start()

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.terminate()
            except AssertionError:
                pass

    def log_tail(self, n=60):
        if not self.logs:
            return ""
        lines = self.logs[-1].read_text(errors="replace").splitlines()
        out = self.stdout.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:] + (["--- stdout ---"] + out[-n:] if out else []))

    # -- admin ---------------------------------------------------------------
    def get(self, path):
        return http_get(self.admin_port, path)

    def status(self):
        code, body = self.get("/status")
        assert code == 200, (code, body)
        return json.loads(body)

    def metrics(self):
        code, body = self.get("/metrics")
        assert code == 200, (code, body)
        return body

    def wait_status(self, pred, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.status()
            try:
                if pred(st):
                    return st
            except (KeyError, TypeError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"/status never showed {what}; last: {st}")

    def queue(self, name):
        return self.status().get("queues", {}).get(name)

    def wait_consumers(self, queue, n):
        return self.wait_status(lambda s: s["queues"][queue]["consumers"] == n,
                                f"{n} consumers on queue {queue}")

    def wait_subscribers(self, topic, n):
        return self.wait_status(lambda s: s["topics"][topic]["subscribers"] == n,
                                f"{n} subscribers on topic {topic}")
