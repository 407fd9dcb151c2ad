"""Durability: persistent messages survive kill -9; SIGTERM exits 0."""

import signal
import time

import pytest

from rawstomp import encode_frame
from stompclient import bodies, uid


def send_all(producer, dest, n, persistent=True, prefix="m"):
    sent = [uid(f"{prefix}{i}") for i in range(n)]
    for b in sent:
        if persistent:
            producer.send(dest, b, persistent="true")
        else:
            producer.send(dest, b)
    return sent


def drain(client_factory, broker, name, n):
    c = client_factory(port=broker.port)
    c.subscribe(f"/queue/{name}", "drain", ack="client-individual")
    return bodies(c.expect_messages(n))


@pytest.mark.parametrize("mode", ["client-individual", "client"])
def test_receipted_unacked_persistent_messages_survive_kill_9(client, broker, mode):
    name = uid("dur")
    producer = client()
    sent = send_all(producer, f"/queue/{name}", 20)
    consumer = client()
    consumer.subscribe(f"/queue/{name}", "s", ack=mode, prefetch=12)
    msgs = consumer.expect_messages(12)
    assert bodies(msgs) == sent[:12]
    if mode == "client-individual":
        acked = [msgs[i] for i in (0, 3, 4, 9, 11)]
        for m in acked:
            consumer.ack(m)  # each waits for its RECEIPT
    else:
        acked = msgs[:5]
        consumer.ack(msgs[4])  # cumulative: the first five
    acked_bodies = set(bodies(acked))
    expected = [b for b in sent if b not in acked_bodies]
    broker.wait_status(lambda s: s["queues"][name]["depth"] == 15, "depth 15 before the crash")

    broker.restart()  # kill -9, same data dir
    assert broker.queue(name)["depth"] == 15
    got = drain(client, broker, name, 15)
    assert sorted(got) == sorted(expected)
    assert not set(got) & acked_bodies, "an acknowledged message came back"


def test_non_persistent_messages_are_gone_after_kill_9(client, broker):
    name = uid("mem")
    producer = client()
    volatile = send_all(producer, f"/queue/{name}", 3, persistent=False, prefix="v")
    durable = send_all(producer, f"/queue/{name}", 2, prefix="d")
    volatile += send_all(producer, f"/queue/{name}", 3, persistent=False, prefix="v")
    assert broker.queue(name)["depth"] == 8
    broker.restart()
    got = drain(client, broker, name, 2)
    assert got == durable
    assert not set(got) & set(volatile)


def test_messages_survive_repeated_crashes(client, broker):
    name = uid("rep")
    sent = send_all(client(), f"/queue/{name}", 5)
    broker.restart()
    broker.restart()
    more = send_all(client(), f"/queue/{name}", 2, prefix="n")
    broker.restart()
    assert drain(client, broker, name, 7) == sent + more


def test_committed_persistent_transaction_survives_and_aborted_does_not(client, broker):
    name = uid("txdur")
    p = client()
    p.tx("BEGIN", "t1")
    p.send(f"/queue/{name}", "committed-1", persistent="true", transaction="t1")
    p.send(f"/queue/{name}", "committed-2", persistent="true", transaction="t1")
    p.tx("COMMIT", "t1")
    p.tx("BEGIN", "t2")
    p.send(f"/queue/{name}", "aborted", persistent="true", transaction="t2")
    p.tx("ABORT", "t2")
    p.tx("BEGIN", "t3")
    p.send(f"/queue/{name}", "never-committed", persistent="true", transaction="t3")
    broker.restart()
    assert drain(client, broker, name, 2) == ["committed-1", "committed-2"]


def test_persistent_messages_survive_bad_input_and_kill_9(client, broker, raw):
    name = uid("storm")
    sent = send_all(client(), f"/queue/{name}", 5)
    bad = [b"FROBNICATE\n\n\x00",
           encode_frame("SEND", [("destination", "/nowhere")], b"x"),
           encode_frame("ACK", [("id", "nope")]),
           encode_frame("COMMIT", [("transaction", "nope")])]
    for data in bad:
        r = raw()
        r.connect()
        r.send_raw(data)
        r.expect_error_and_close()
        r.close()
    assert broker.alive()
    broker.restart()
    assert drain(client, broker, name, 5) == sent


def test_sigterm_drains_and_exits_zero(client, broker):
    name = uid("term")
    producer, consumer = client(), client()
    sent = send_all(producer, f"/queue/{name}", 4)
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual")
    msgs = consumer.expect_messages(4)
    consumer.ack(msgs[0])
    assert broker.signal(signal.SIGTERM) == 0, broker.log_tail()
    consumer.listener.wait(lambda: consumer.listener.disconnected, "client dropped at shutdown")
    broker.start()  # same data dir
    assert sorted(drain(client, broker, name, 3)) == sorted(sent[1:])


def test_sigterm_idle_broker_exits_zero(broker):
    assert broker.signal(signal.SIGTERM) == 0, broker.log_tail()


def test_persistent_message_that_expired_during_downtime_is_dropped(client, broker):
    name = uid("exp")
    p = client()
    deadline = int(time.time() * 1000) + 1000
    p.send(f"/queue/{name}", "short", persistent="true", expires=str(deadline))
    p.send(f"/queue/{name}", "long", persistent="true",
           expires=str(int(time.time() * 1000) + 3_600_000))
    broker.kill9()
    while time.time() * 1000 < deadline + 300:  # bounded: about 1.3 s
        time.sleep(0.05)
    broker.start()
    assert drain(client, broker, name, 1) == ["long"]


def test_persistent_topic_message_is_not_resurrected(client, broker):
    name = uid("t")
    p = client()
    p.send(f"/topic/{name}", "nobody-listens", persistent="true")
    broker.restart()
    sub = client()
    sub.subscribe(f"/topic/{name}", "s")
    sub.subscribe(f"/queue/{name}", "q")
    client().send(f"/topic/{name}", "fresh")
    assert bodies(sub.expect_messages(1)) == ["fresh"]
