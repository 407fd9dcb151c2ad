"""Fixtures that run the real ferromq-broker binary for black-box tests.

Every test gets its own broker process and its own data dir (tmp_path); every
process started here is stopped by PID at teardown.
"""

import os
from pathlib import Path

import pytest

from brokerproc import Broker, broker_bin
from rawstomp import RawClient
from stompclient import Client


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _require_binary():
    path = broker_bin()
    if not path.exists():
        msg = f"broker binary not found at {path} (set FERROMQ_BROKER_BIN or build it)"
        if os.environ.get("FERROMQ_REQUIRE_BROKER"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture
def broker_factory(request, tmp_path):
    """start(args=[...], env={...}, data_dir=...) -> a running Broker."""
    _require_binary()
    started = []

    def start(args=(), env=None, data_dir=None, node_id="test", build=None):
        data = Path(data_dir) if data_dir else tmp_path / f"data{len(started)}"
        b = Broker(data, tmp_path, args, env, node_id, build)
        started.append(b)
        return b.start()

    yield start
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for b in started:
        if failed:
            print(f"\n----- broker log tail ({b.logs[-1] if b.logs else '-'}) -----\n{b.log_tail()}")
        b.cleanup()


@pytest.fixture
def broker(broker_factory):
    return broker_factory()


@pytest.fixture
def client(request):
    """client(version='1.2', port=None, **kw) -> a connected stomp.py Client.

    Without `port` it connects to the `broker` fixture (started lazily)."""
    made = []

    def make(version="1.2", port=None, connect_headers=None, **kw):
        port = port or request.getfixturevalue("broker").port
        c = Client(port, version=version, **kw)
        made.append(c)
        c.connect(**(connect_headers or {}))
        return c

    yield make
    for c in made:
        try:
            c.conn.transport.disconnect_socket()
        except Exception:
            pass


@pytest.fixture
def raw(request):
    """raw(port=None, version='1.2') -> an unconnected RawClient (closed at teardown)."""
    made = []

    def make(port=None, version="1.2"):
        port = port or request.getfixturevalue("broker").port
        r = RawClient(port, version=version)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()
