"""Prefetch windows (activemq.prefetchSize) and message expiry (expires)."""

import time

from stompclient import bodies, uid


def fill(producer, dest, n, receipt_each=True):
    sent = [uid(f"m{i}") for i in range(n)]
    for i, b in enumerate(sent):
        producer.send(dest, b, receipt=receipt_each or i == n - 1)
    return sent


def test_prefetch_window_client_individual(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    sent = fill(producer, f"/queue/{name}", 5)
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual", prefetch=2)
    msgs = consumer.expect_messages(2)
    assert bodies(msgs) == sent[:2]
    st = broker.queue(name)
    assert (st["depth"], st["inflight"], st["consumers"]) == (5, 2, 1), st
    consumer.ack(msgs[1])  # frees one slot: exactly one more arrives
    msgs = consumer.expect_messages(3)
    assert msgs[2].body == sent[2]
    consumer.ack(msgs[0])
    consumer.ack(msgs[2])  # two slots free, two messages left
    msgs = consumer.expect_messages(5)
    assert bodies(msgs) == sent
    for m in msgs[3:]:
        consumer.ack(m)
    broker.wait_status(lambda s: s["queues"][name]["depth"] == 0, "empty queue")


def test_prefetch_window_client_cumulative(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    sent = fill(producer, f"/queue/{name}", 6)
    consumer.subscribe(f"/queue/{name}", "s", ack="client", prefetch=2)
    msgs = consumer.expect_messages(2)
    consumer.ack(msgs[1])  # cumulative: both acknowledged, the window reopens fully
    msgs = consumer.expect_messages(4)
    assert bodies(msgs) == sent[:4]
    assert broker.queue(name)["inflight"] == 2


def test_prefetch_one_spreads_unacked_work(client, broker):
    producer, c1, c2 = client(), client(), client()
    name = uid("q")
    c1.subscribe(f"/queue/{name}", "a", ack="client-individual", prefetch=1)
    c2.subscribe(f"/queue/{name}", "b", ack="client-individual", prefetch=1)
    broker.wait_consumers(name, 2)
    sent = fill(producer, f"/queue/{name}", 4)
    m1, m2 = c1.expect_messages(1)[0], c2.expect_messages(1)[0]
    assert sorted([m1.body, m2.body]) == sorted(sent[:2])
    assert broker.queue(name)["inflight"] == 2
    c1.ack(m1)
    c1.wait_messages(2)
    assert len(c2.messages) == 1


def test_default_prefetch_is_1000(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    fill(producer, f"/queue/{name}", 1010, receipt_each=False)
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual")
    msgs = consumer.expect_messages(1000, grace=1.5)
    assert len({m.body for m in msgs}) == 1000
    consumer.ack(msgs[0])
    consumer.expect_messages(1001)


def test_prefetch_does_not_limit_auto_ack(client):
    producer, consumer = client(), client()
    name = uid("q")
    sent = fill(producer, f"/queue/{name}", 5)
    consumer.subscribe(f"/queue/{name}", "s", ack="auto", prefetch=1)
    assert bodies(consumer.expect_messages(5)) == sent


def now_ms():
    return int(time.time() * 1000)


def test_already_expired_message_is_never_delivered(client):
    producer, consumer = client(), client()
    dest = f"/queue/{uid('q')}"
    consumer.subscribe(dest, "s")
    producer.send(dest, "expired", expires=str(now_ms() - 60_000))
    producer.send(dest, "fresh", expires=str(now_ms() + 3_600_000))
    producer.send(dest, "no-expiry")
    msgs = consumer.expect_messages(2)
    assert bodies(msgs) == ["fresh", "no-expiry"]


def test_message_expiring_while_queued_is_dropped(client, broker):
    producer = client()
    name = uid("q")
    deadline = now_ms() + 1000
    producer.send(f"/queue/{name}", "short-lived", expires=str(deadline))
    producer.send(f"/queue/{name}", "long-lived", expires=str(now_ms() + 3_600_000))
    while now_ms() < deadline + 300:  # bounded: about 1.3 s
        time.sleep(0.05)
    consumer = client()
    consumer.subscribe(f"/queue/{name}", "s")
    assert bodies(consumer.expect_messages(1)) == ["long-lived"]


def test_expired_topic_message_is_not_delivered(client, broker):
    producer, sub = client(), client()
    name = uid("t")
    sub.subscribe(f"/topic/{name}", "s")
    producer.send(f"/topic/{name}", "expired", expires=str(now_ms() - 1000))
    producer.send(f"/topic/{name}", "ok")
    assert bodies(sub.expect_messages(1)) == ["ok"]


def test_expires_header_is_passed_through(client):
    producer, consumer = client(), client()
    dest = f"/queue/{uid('q')}"
    exp = str(now_ms() + 3_600_000)
    consumer.subscribe(dest, "s")
    producer.send(dest, "m", expires=exp)
    [m] = consumer.expect_messages(1)
    assert m.headers.get("expires") == exp


def test_message_that_expired_while_in_flight_is_not_redelivered(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    deadline = now_ms() + 1500
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual")
    producer.send(f"/queue/{name}", "short-lived", expires=str(deadline))
    [m] = consumer.expect_messages(1)
    while now_ms() < deadline + 300:  # bounded: under 2 s
        time.sleep(0.05)
    consumer.nack(m)
    producer.send(f"/queue/{name}", "marker")
    msgs = consumer.expect_messages(2)
    assert bodies(msgs) == ["short-lived", "marker"]
