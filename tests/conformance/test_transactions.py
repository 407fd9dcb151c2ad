"""BEGIN / COMMIT / ABORT: transactional SENDs and ACKs."""

import time

from stompclient import GRACE, bodies, uid


def test_sends_in_transaction_appear_only_at_commit(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    consumer.subscribe(f"/queue/{name}", "s")
    tx = uid("tx")
    producer.tx("BEGIN", tx)
    sent = [uid("a"), uid("b"), uid("c")]
    for b in sent:
        producer.send(f"/queue/{name}", b, transaction=tx)
    time.sleep(GRACE)
    assert consumer.messages == [], "transactional SEND delivered before COMMIT"
    assert broker.queue(name)["depth"] == 0, "transactional SEND enqueued before COMMIT"
    producer.tx("COMMIT", tx)
    assert bodies(consumer.expect_messages(3)) == sent


def test_sends_in_aborted_transaction_never_appear(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    consumer.subscribe(f"/queue/{name}", "s")
    tx = uid("tx")
    producer.tx("BEGIN", tx)
    producer.send(f"/queue/{name}", "aborted-1", transaction=tx)
    producer.send(f"/topic/{name}", "aborted-2", transaction=tx)
    producer.tx("ABORT", tx)
    producer.send(f"/queue/{name}", "after-abort")
    assert bodies(consumer.expect_messages(1)) == ["after-abort"]


def test_non_transactional_send_is_not_held_back_by_open_transaction(client):
    producer, consumer = client(), client()
    dest = f"/queue/{uid('q')}"
    consumer.subscribe(dest, "s")
    tx = uid("tx")
    producer.tx("BEGIN", tx)
    producer.send(dest, "in-tx", transaction=tx)
    producer.send(dest, "outside")
    assert bodies(consumer.expect_messages(1)) == ["outside"]
    producer.tx("COMMIT", tx)
    assert bodies(consumer.expect_messages(2)) == ["outside", "in-tx"]


def test_two_transactions_on_one_connection_are_independent(client):
    producer, consumer = client(), client()
    dest = f"/queue/{uid('q')}"
    consumer.subscribe(dest, "s")
    t1, t2 = uid("t1"), uid("t2")
    producer.tx("BEGIN", t1)
    producer.tx("BEGIN", t2)
    producer.send(dest, "from-t1", transaction=t1)
    producer.send(dest, "from-t2", transaction=t2)
    producer.tx("ABORT", t1)
    producer.tx("COMMIT", t2)
    assert bodies(consumer.expect_messages(1)) == ["from-t2"]


def test_acks_in_committed_transaction_take_effect_at_commit(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    sent = [uid("m0"), uid("m1"), uid("m2")]
    for b in sent:
        producer.send(f"/queue/{name}", b)
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual")
    msgs = consumer.expect_messages(3)
    tx = uid("tx")
    consumer.tx("BEGIN", tx)
    consumer.ack(msgs[0], transaction=tx)
    consumer.ack(msgs[1], transaction=tx)
    time.sleep(GRACE)
    assert broker.queue(name)["depth"] == 3, "ACK inside a transaction applied before COMMIT"
    consumer.tx("COMMIT", tx)
    broker.wait_status(lambda s: s["queues"][name]["depth"] == 1, "depth 1 after COMMIT")
    consumer.drop()
    again = client()
    again.subscribe(f"/queue/{name}", "s")
    assert bodies(again.expect_messages(1)) == [sent[2]]


def test_acks_in_aborted_transaction_leave_messages_unacked(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    sent = [uid("m0"), uid("m1")]
    for b in sent:
        producer.send(f"/queue/{name}", b)
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual")
    msgs = consumer.expect_messages(2)
    tx = uid("tx")
    consumer.tx("BEGIN", tx)
    consumer.ack(msgs[0], transaction=tx)
    consumer.ack(msgs[1], transaction=tx)
    consumer.tx("ABORT", tx)
    st = broker.queue(name)
    assert (st["depth"], st["inflight"]) == (2, 2), st
    consumer.drop()
    again = client()
    again.subscribe(f"/queue/{name}", "s", ack="client-individual")
    msgs = again.expect_messages(2)
    assert sorted(bodies(msgs)) == sorted(sent)
    assert all(m.headers.get("redelivered") == "true" for m in msgs)


def test_message_acked_in_aborted_transaction_can_be_acked_again(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    producer.send(f"/queue/{name}", "m")
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual")
    [m] = consumer.expect_messages(1)
    tx = uid("tx")
    consumer.tx("BEGIN", tx)
    consumer.ack(m, transaction=tx)
    consumer.tx("ABORT", tx)
    consumer.ack(m)  # waits for the RECEIPT and fails on any ERROR
    broker.wait_status(lambda s: s["queues"][name]["depth"] == 0, "depth 0")


def test_sends_and_acks_commit_together(client, broker):
    producer, worker, sink = client(), client(), client()
    src, dst = uid("src"), uid("dst")
    producer.send(f"/queue/{src}", "job")
    sink.subscribe(f"/queue/{dst}", "s")
    worker.subscribe(f"/queue/{src}", "w", ack="client-individual")
    [job] = worker.expect_messages(1)
    tx = uid("tx")
    worker.tx("BEGIN", tx)
    worker.send(f"/queue/{dst}", "result", transaction=tx)
    worker.ack(job, transaction=tx)
    time.sleep(GRACE)
    assert sink.messages == [] and broker.queue(src)["depth"] == 1
    worker.tx("COMMIT", tx)
    assert bodies(sink.expect_messages(1)) == ["result"]
    broker.wait_status(lambda s: s["queues"][src]["depth"] == 0, "source queue drained")


def test_disconnect_aborts_open_transactions(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    producer.send(f"/queue/{name}", "to-ack")
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual")
    [m] = consumer.expect_messages(1)
    consumer.tx("BEGIN", "t")
    consumer.ack(m, transaction="t")
    consumer.send(f"/queue/{name}", "uncommitted", transaction="t")
    consumer.disconnect()
    again = client()
    again.subscribe(f"/queue/{name}", "s")
    producer.send(f"/queue/{name}", "marker")
    msgs = again.expect_messages(2)
    assert bodies(msgs) == ["to-ack", "marker"]
    assert msgs[0].headers.get("redelivered") == "true"
