"""Queues (point to point, round-robin) and topics (fan-out), MESSAGE headers."""

import pytest

from stompclient import bodies, uid


def test_queue_point_to_point_in_order(client):
    producer, consumer = client(), client()
    name = uid("q")
    sent = [uid(f"m{i}") for i in range(5)]
    consumer.subscribe(f"/queue/{name}", "s1")
    for b in sent:
        producer.send(f"/queue/{name}", b)
    assert bodies(consumer.expect_messages(5)) == sent
    assert producer.messages == []


def test_queue_keeps_messages_until_a_consumer_arrives(client, broker):
    producer = client()
    name = uid("q")
    sent = [uid(f"m{i}") for i in range(3)]
    for b in sent:
        producer.send(f"/queue/{name}", b)
    assert broker.queue(name)["depth"] == 3
    consumer = client()
    consumer.subscribe(f"/queue/{name}", "s1")
    assert bodies(consumer.expect_messages(3)) == sent


def test_each_queue_message_goes_to_exactly_one_of_two_consumers_round_robin(client, broker):
    producer, c1, c2 = client(), client(), client()
    name = uid("q")
    c1.subscribe(f"/queue/{name}", "a")
    c2.subscribe(f"/queue/{name}", "b")
    broker.wait_consumers(name, 2)
    sent = [uid(f"m{i}") for i in range(10)]
    for b in sent:
        producer.send(f"/queue/{name}", b)
    c1.wait_messages(5)
    c2.wait_messages(5)
    got1, got2 = bodies(c1.expect_messages(5)), bodies(c2.expect_messages(5))
    assert not set(got1) & set(got2), "a message was delivered to both consumers"
    assert sorted(got1 + got2) == sorted(sent)
    # round-robin: consecutive messages alternate between the two consumers
    owner = {b: 1 for b in got1} | {b: 2 for b in got2}
    seq = [owner[b] for b in sent]
    assert all(x != y for x, y in zip(seq, seq[1:])), f"not round-robin: {seq}"


def test_two_subscriptions_on_one_connection_compete(client, broker):
    producer, c = client(), client()
    name = uid("q")
    c.subscribe(f"/queue/{name}", "a")
    c.subscribe(f"/queue/{name}", "b")
    broker.wait_consumers(name, 2)
    sent = [uid(f"m{i}") for i in range(4)]
    for b in sent:
        producer.send(f"/queue/{name}", b)
    msgs = c.expect_messages(4)
    assert sorted(bodies(msgs)) == sorted(sent)
    subs = [m.headers["subscription"] for m in msgs]
    assert subs.count("a") == 2 and subs.count("b") == 2, subs


def test_topic_fans_out_to_every_subscriber(client, broker):
    producer, s1, s2 = client(), client(), client()
    name = uid("t")
    s1.subscribe(f"/topic/{name}", "x")
    s2.subscribe(f"/topic/{name}", "y")
    broker.wait_subscribers(name, 2)
    sent = [uid(f"m{i}") for i in range(3)]
    for b in sent:
        producer.send(f"/topic/{name}", b)
    assert bodies(s1.expect_messages(3)) == sent
    assert bodies(s2.expect_messages(3)) == sent
    assert {m.headers["subscription"] for m in s1.messages} == {"x"}
    assert {m.headers["subscription"] for m in s2.messages} == {"y"}


def test_topic_without_subscribers_drops_messages(client, broker):
    producer, sub = client(), client()
    name = uid("t")
    producer.send(f"/topic/{name}", "nobody-listens")
    sub.subscribe(f"/topic/{name}", "x")
    producer.send(f"/topic/{name}", "second")
    assert bodies(sub.expect_messages(1)) == ["second"]


def test_topic_unsubscribe_stops_delivery(client, broker):
    producer, sub = client(), client()
    name = uid("t")
    sub.subscribe(f"/topic/{name}", "x")
    producer.send(f"/topic/{name}", "one")
    sub.wait_messages(1)
    sub.unsubscribe("x")
    producer.send(f"/topic/{name}", "two")
    assert bodies(sub.expect_messages(1)) == ["one"]


def test_queue_and_topic_of_same_name_are_separate(client, broker):
    producer, qc, tc = client(), client(), client()
    name = uid("same")
    qc.subscribe(f"/queue/{name}", "q")
    tc.subscribe(f"/topic/{name}", "t")
    producer.send(f"/queue/{name}", "to-queue")
    producer.send(f"/topic/{name}", "to-topic")
    assert bodies(qc.expect_messages(1)) == ["to-queue"]
    assert bodies(tc.expect_messages(1)) == ["to-topic"]


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_message_headers(client, version):
    producer, consumer = client(version), client(version)
    dest = f"/queue/{uid('q')}"
    consumer.subscribe(dest, "sub-1")
    producer.send(dest, "payload", **{"x-custom": "hello", "priority-ish": "7"},
                  content_type="text/plain")
    [m] = consumer.expect_messages(1)
    h = m.headers
    assert m.body == "payload"
    assert h["destination"] == dest
    assert h["message-id"]
    assert h["subscription"] == "sub-1"
    assert h["x-custom"] == "hello" and h["priority-ish"] == "7", h
    assert h["content-type"] == "text/plain"
    assert h["content-length"] == "7"
    if version == "1.2":
        assert h["ack"], h


def test_message_ids_are_unique(client):
    producer, consumer = client(), client()
    dest = f"/queue/{uid('q')}"
    consumer.subscribe(dest, "s")
    for i in range(5):
        producer.send(dest, f"m{i}")
    ids = [m.headers["message-id"] for m in consumer.expect_messages(5)]
    assert len(set(ids)) == 5, ids


def test_destinations_are_created_on_first_use(client, broker):
    producer = client()
    q, t = uid("newq"), uid("newt")
    st = broker.status()
    assert q not in st["queues"] and t not in st["topics"]
    producer.send(f"/queue/{q}", "m")
    sub = client()
    sub.subscribe(f"/topic/{t}", "s")
    st = broker.status()
    assert st["queues"][q]["depth"] == 1
    assert st["topics"][t]["subscribers"] == 1
