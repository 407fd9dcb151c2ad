"""ferromq's own failover client (through the `ferromq` tool) carries on by
itself when the master is killed: a client with a failover URL reconnects
to whichever node serves and resends what was not receipted, so every
message it reports receipted is there to drain afterwards.
"""

import os
import subprocess
import time
from pathlib import Path

import pytest

from brokernode import broker_bin
from procs import poll, uid

MESSAGES = 3000


def cli_bin():
    if os.environ.get("FERROMQ_CLI_BIN"):
        return Path(os.environ["FERROMQ_CLI_BIN"])
    return broker_bin().parent / "ferromq"


def test_the_failover_client_carries_on_through_a_master_kill(make_cluster):
    cli = cli_bin()
    if not cli.exists():
        msg = f"the ferromq tool is not built at {cli} (cargo build -p ferromq-client)"
        if os.environ.get("FERROMQ_REQUIRE_CLUSTER"):
            pytest.fail(msg)
        pytest.skip(msg)
    c = make_cluster()
    m = c.master()
    addresses = ",".join(f"tcp://{n.client_address}" for n in c.nodes.values())
    url = f"failover:({addresses})?randomize=false&initialReconnectDelay=10&maxReconnectDelay=500"
    q = uid("cli")
    send = subprocess.Popen(
        [str(cli), "send", "--url", url, "--destination", f"/queue/{q}",
         "--count", str(MESSAGES), "msg-{n}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def some_stored():
            st = m.status()
            return st and st["queues"].get(q, {}).get("depth", 0) >= 200
        poll(some_stored, "200 messages stored before the kill", 30, 0.02)
        m.kill9()
        out, err = send.communicate(timeout=120)
    finally:
        if send.poll() is None:
            send.kill()
            send.wait(10)
    assert send.returncode == 0, f"send failed ({send.returncode}): {out}\n{err}"
    assert f"{MESSAGES} of {MESSAGES} messages receipted" in out, out
    new = c.wait_for_new_master(m)
    assert new is not m

    received = subprocess.run(
        [str(cli), "receive", "--url", url, "--destination", f"/queue/{q}",
         "--ack", "client-individual", "--timeout", "3s"],
        capture_output=True, text=True, timeout=120)
    bodies = set(received.stdout.split())
    missing = sorted({f"msg-{k}" for k in range(MESSAGES)} - bodies)
    assert not missing, f"{len(missing)} receipted messages never came back, e.g. {missing[:5]}"
    c.assert_one_master_per_epoch()
