"""Process and polling helpers shared by the cluster harness.

Every child process the harness starts goes through `spawn`, which records
its PID; fixtures stop them by PID, and an atexit hook SIGKILLs any that a
crashed fixture left behind, so a failed run never leaves a JVM or a broker
listening on loopback. Every wait here is bounded in time.
"""

import atexit
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# Unique ids as the conformance suite makes them (re-exported for the tests).
sys.path.insert(0, str(REPO / "tests" / "conformance"))
from stompclient import uid  # noqa: E402,F401

# Liveness bound for waits that must succeed (never an assertion on speed).
TIMEOUT = float(os.environ.get("FERROMQ_TEST_TIMEOUT", "30"))

_live = {}  # pid -> Popen, for the atexit safety net
_given = set()  # (host, port) already handed out by free_port in this run


def spawn(argv, log_path, env=None, cwd=None):
    """Start argv with stdin from /dev/null and stdout+stderr into log_path."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=cwd)
    _live[proc.pid] = proc
    return proc


def pid_alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def stop(proc, sig=signal.SIGTERM, timeout=10.0):
    """Signal proc by PID and reap it; SIGKILL if it outlives `timeout`. Returns rc."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGCONT)  # a SIGSTOPped process cannot act on SIGTERM
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        _reap(proc, timeout)
    _live.pop(proc.pid, None)
    return proc.returncode


def _reap(proc, timeout):
    """Wait for proc to exit; SIGKILL it after `timeout`."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def stop_all(procs, sig=signal.SIGTERM, timeout=5.0):
    """Signal every proc at once, then reap them within one shared deadline."""
    procs = [p for p in procs if p is not None]
    for p in procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)
                os.kill(p.pid, sig)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    for p in procs:
        _reap(p, max(0.01, deadline - time.monotonic()))
        _live.pop(p.pid, None)


@atexit.register
def _kill_leftovers():
    for pid, proc in list(_live.items()):
        if proc.poll() is None:
            try:
                os.kill(pid, signal.SIGKILL)
                proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


def free_port(host="127.0.0.1"):
    """A port free on `host` now, below the kernel's ephemeral range.

    Servers here keep their ports across restarts; a port from the ephemeral
    range could meanwhile become some client socket's local port and make
    the restart fail to bind, so pick from 20000-32767 (bounded tries)."""
    for _ in range(200):
        port = random.randrange(20000, 32768)
        if (host, port) in _given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            _given.add((host, port))
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def tail(path, n=80):
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(lines[-n:])


def http(method, host, port, path, timeout=2.0):
    """(status, body) of an HTTP request; raises OSError when nobody answers."""
    req = urllib.request.Request(f"http://{host}:{port}{path}", method=method,
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def http_json(host, port, path, timeout=2.0):
    """Parsed JSON of GET path, or None when the server does not answer 200."""
    try:
        code, body = http("GET", host, port, path, timeout)
    except (OSError, ValueError):
        return None
    if code != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def poll(fn, what, timeout=TIMEOUT, interval=0.1):
    """Call fn until it returns a truthy value (bounded); AssertionError naming `what`.

    Unlike `eventually`, the last value seen goes into the failure message."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last}")
        time.sleep(interval)


class Miss:
    """A falsy poll result that carries why it missed (shown on timeout)."""

    def __init__(self, why):
        self.why = why

    def __bool__(self):
        return False

    def __repr__(self):
        return f"Miss({self.why!r})"
