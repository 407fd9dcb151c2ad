"""Ack modes (auto, client, client-individual), NACK and redelivery."""

import time

import pytest

from stompclient import GRACE, bodies, eventually, uid


def fill(producer, dest, n):
    sent = [uid(f"m{i}") for i in range(n)]
    for b in sent:
        producer.send(dest, b, **{"x-origin": "producer"})
    return sent


def test_auto_ack_removes_messages_on_delivery(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    sent = fill(producer, f"/queue/{name}", 3)
    consumer.subscribe(f"/queue/{name}", "s", ack="auto")
    assert bodies(consumer.expect_messages(3)) == sent
    broker.wait_status(lambda s: s["queues"][name]["depth"] == 0, "depth 0 after auto ack")
    consumer.disconnect()
    again = client()
    again.subscribe(f"/queue/{name}", "s")
    producer.send(f"/queue/{name}", "marker")
    assert bodies(again.expect_messages(1)) == ["marker"]


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_client_ack_is_cumulative(client, broker, version):
    producer, consumer = client(), client(version)
    name = uid("q")
    sent = fill(producer, f"/queue/{name}", 5)
    consumer.subscribe(f"/queue/{name}", "s", ack="client")
    msgs = consumer.expect_messages(5)
    assert bodies(msgs) == sent
    consumer.ack(msgs[2])  # acks messages 0, 1 and 2
    broker.wait_status(lambda s: s["queues"][name]["depth"] == 2
                       and s["queues"][name]["inflight"] == 2, "depth 2 / inflight 2")
    consumer.disconnect()
    again = client()
    again.subscribe(f"/queue/{name}", "s", ack="client-individual")
    redelivered = again.expect_messages(2)
    assert sorted(bodies(redelivered)) == sorted(sent[3:])
    assert all(m.headers.get("redelivered") == "true" for m in redelivered), \
        [m.headers for m in redelivered]


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_client_individual_acks_one_message(client, broker, version):
    producer, consumer = client(), client(version)
    name = uid("q")
    sent = fill(producer, f"/queue/{name}", 5)
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual")
    msgs = consumer.expect_messages(5)
    consumer.ack(msgs[2])
    broker.wait_status(lambda s: s["queues"][name]["depth"] == 4, "depth 4")
    consumer.disconnect()
    again = client()
    again.subscribe(f"/queue/{name}", "s", ack="client-individual")
    redelivered = again.expect_messages(4)
    assert sorted(bodies(redelivered)) == sorted(sent[:2] + sent[3:])
    assert all(m.headers.get("redelivered") == "true" for m in redelivered)


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_nack_redelivers_with_redelivered_flag(client, broker, version):
    producer, consumer = client(), client(version)
    name = uid("q")
    [body] = fill(producer, f"/queue/{name}", 1)
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual")
    [first] = consumer.expect_messages(1)
    assert first.headers.get("redelivered", "false") != "true"
    consumer.nack(first)
    msgs = consumer.expect_messages(2)
    assert msgs[1].body == body
    assert msgs[1].headers.get("redelivered") == "true", msgs[1].headers
    assert msgs[1].headers["x-origin"] == "producer", "redelivery lost the sender's headers"
    consumer.ack(msgs[1])
    broker.wait_status(lambda s: s["queues"][name]["depth"] == 0, "depth 0")


def test_nacked_message_is_redelivered_exactly_once_across_consumers(client, broker):
    producer, c1, c2 = client(), client(), client()
    name = uid("q")
    c1.subscribe(f"/queue/{name}", "s", ack="client-individual")
    c2.subscribe(f"/queue/{name}", "s", ack="client-individual")
    broker.wait_consumers(name, 2)
    [body] = fill(producer, f"/queue/{name}", 1)
    eventually(lambda: c1.messages or c2.messages, "first delivery")
    first, holder = (c1.messages[0], c1) if c1.messages else (c2.messages[0], c2)
    holder.nack(first)
    eventually(lambda: len(c1.messages) + len(c2.messages) >= 2, "redelivery")
    time.sleep(GRACE)
    got = c1.messages + c2.messages
    assert len(got) == 2, bodies(got)
    assert bodies(got) == [body, body]
    again = [m for m in got if m is not first]
    assert again[0].headers.get("redelivered") == "true", again[0].headers


def test_disconnect_with_unacked_messages_redelivers(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    sent = fill(producer, f"/queue/{name}", 3)
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual")
    consumer.expect_messages(3)
    broker.wait_status(lambda s: s["queues"][name]["inflight"] == 3, "inflight 3")
    consumer.drop()  # the socket just goes away, no DISCONNECT
    broker.wait_status(lambda s: s["queues"][name]["inflight"] == 0, "inflight 0 after drop")
    assert broker.queue(name)["depth"] == 3
    again = client()
    again.subscribe(f"/queue/{name}", "s", ack="auto")
    msgs = again.expect_messages(3)
    assert sorted(bodies(msgs)) == sorted(sent)
    assert all(m.headers.get("redelivered") == "true" for m in msgs)


def test_unsubscribe_returns_unacked_messages(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    sent = fill(producer, f"/queue/{name}", 2)
    consumer.subscribe(f"/queue/{name}", "s1", ack="client")
    consumer.expect_messages(2)
    consumer.unsubscribe("s1")
    consumer.clear()
    consumer.subscribe(f"/queue/{name}", "s2", ack="auto")
    msgs = consumer.expect_messages(2)
    assert sorted(bodies(msgs)) == sorted(sent)
    assert all(m.headers["subscription"] == "s2" for m in msgs)
    assert all(m.headers.get("redelivered") == "true" for m in msgs)


def test_ack_in_1_1_needs_subscription_and_message_id(raw, broker):
    r = raw(version="1.1")
    r.connect(version="1.1")
    name = uid("q")
    r.send_frame("SUBSCRIBE", [("id", "s"), ("destination", f"/queue/{name}"),
                               ("ack", "client-individual")])
    r.send_frame("SEND", [("destination", f"/queue/{name}")], b"one")
    m = r.recv_frame()
    assert m.command == "MESSAGE" and m.body == b"one"
    r.send_frame("ACK", [("message-id", m.headers["message-id"]), ("subscription", "s"),
                         ("receipt", "r1")])
    f = r.recv_frame()
    assert f.command == "RECEIPT" and f.headers["receipt-id"] == "r1", f
    broker.wait_status(lambda s: s["queues"][name]["depth"] == 0, "depth 0 after 1.1 ACK")


def test_stomppy_1_0_ack_by_message_id_alone(client, broker):
    """stomp.py's 1.0 ACK carries only message-id, as the 1.0 spec has it."""
    producer, consumer = client(), client("1.0")
    name = uid("q")
    fill(producer, f"/queue/{name}", 2)
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual")
    msgs = consumer.expect_messages(2)
    rid = uid("r")
    consumer.conn.ack(msgs[0].headers["message-id"], receipt=rid)
    consumer.wait_receipt(rid)
    broker.wait_status(lambda s: s["queues"][name]["depth"] == 1, "depth 1 after 1.0 ACK")
