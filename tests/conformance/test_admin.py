"""Admin HTTP: /livez, /readyz, /status JSON and /metrics (Prometheus text)."""

import re

from stompclient import eventually, uid

SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def samples(text, name):
    """[(labels dict, value)] for every sample of metric `name`."""
    out = []
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and m.group("name") == name:
            labels = dict(LABEL.findall(m.group("labels") or ""))
            out.append((labels, float(m.group("value"))))
    return out


def value(text, name, **labels):
    found = [v for ls, v in samples(text, name) if all(ls.get(k) == w for k, w in labels.items())]
    assert found, f"no sample {name}{labels} in /metrics:\n{text}"
    return sum(found)


def q3(st):
    """(depth, consumers, inflight) of one queue's /status entry."""
    return (st["depth"], st["consumers"], st["inflight"])


def test_livez_and_readyz(broker):
    assert broker.get("/livez")[0] == 200
    assert broker.get("/readyz")[0] == 200


def test_status_shape_on_a_fresh_broker(broker_factory):
    b = broker_factory(node_id="node-" + uid())
    st = b.status()
    assert st["node_id"] == b.node_id
    assert st["role"] == "standalone"
    assert st["connections"] == 0
    assert isinstance(st["queues"], dict) and isinstance(st["topics"], dict)


def test_status_counts_connections(client, broker):
    clients = [client() for _ in range(3)]
    broker.wait_status(lambda s: s["connections"] == 3, "3 connections")
    clients[0].disconnect()
    clients[1].drop()
    broker.wait_status(lambda s: s["connections"] == 1, "1 connection")


def test_status_queue_depth_consumers_inflight(client, broker):
    producer, consumer = client(), client()
    name = uid("q")
    for i in range(3):
        producer.send(f"/queue/{name}", f"m{i}")
    assert q3(broker.queue(name)) == (3, 0, 0)
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual", prefetch=2)
    msgs = consumer.wait_messages(2)
    broker.wait_status(lambda s: q3(s["queues"][name]) == (3, 1, 2),
                       "depth 3 / consumers 1 / inflight 2")
    consumer.ack(msgs[0])
    consumer.wait_messages(3)
    broker.wait_status(lambda s: q3(s["queues"][name]) == (2, 1, 2),
                       "depth 2 / consumers 1 / inflight 2")
    consumer.unsubscribe("s")
    broker.wait_status(lambda s: q3(s["queues"][name]) == (2, 0, 0),
                       "depth 2 / consumers 0 / inflight 0")


def test_status_topic_subscribers(client, broker):
    a, b = client(), client()
    name = uid("t")
    a.subscribe(f"/topic/{name}", "x")
    b.subscribe(f"/topic/{name}", "y")
    assert broker.status()["topics"][name]["subscribers"] == 2
    b.unsubscribe("y")
    broker.wait_status(lambda s: s["topics"][name]["subscribers"] == 1, "1 subscriber")
    a.drop()
    broker.wait_status(lambda s: s["topics"].get(name, {"subscribers": 0})["subscribers"] == 0,
                       "no subscribers")


def test_metrics_names_present(broker, client):
    client().send(f"/queue/{uid('q')}", "m", persistent="true")
    text = broker.metrics()
    for name in ["ferromq_messages_in_total", "ferromq_messages_out_total", "ferromq_connections",
                 "ferromq_fsync_seconds_count", "ferromq_fsync_seconds_sum",
                 "ferromq_fsync_seconds_bucket", "ferromq_commit_batch_entries_count",
                 "ferromq_commit_batch_entries_sum", "ferromq_commit_batch_entries_bucket"]:
        assert samples(text, name), f"{name} missing from /metrics:\n{text}"
    assert "# TYPE ferromq_fsync_seconds histogram" in text
    assert "# TYPE ferromq_commit_batch_entries histogram" in text


def test_metrics_count_messages_and_connections(broker, client):
    producer, consumer = client(), client()
    name = uid("q")
    before = broker.metrics()
    in0 = value(before, "ferromq_messages_in_total")
    out0 = value(before, "ferromq_messages_out_total")
    for i in range(4):
        producer.send(f"/queue/{name}", f"m{i}")
    text = broker.metrics()
    assert value(text, "ferromq_messages_in_total") == in0 + 4
    assert value(text, "ferromq_queue_depth", queue=name) == 4
    consumer.subscribe(f"/queue/{name}", "s", ack="client-individual")
    msgs = consumer.wait_messages(4)
    eventually(lambda: value(broker.metrics(), "ferromq_messages_out_total") == out0 + 4,
               "messages_out_total += 4")
    consumer.ack(msgs[0])
    consumer.ack(msgs[1])
    eventually(lambda: value(broker.metrics(), "ferromq_queue_depth", queue=name) == 2,
               "queue depth metric 2")
    assert value(broker.metrics(), "ferromq_connections") == 2
    consumer.drop()
    eventually(lambda: value(broker.metrics(), "ferromq_connections") == 1, "connections 1")


def test_fsync_and_commit_batch_histograms_observe_persistent_sends(broker, client):
    count0 = value(broker.metrics(), "ferromq_fsync_seconds_count")
    batch0 = value(broker.metrics(), "ferromq_commit_batch_entries_count")
    entries0 = value(broker.metrics(), "ferromq_commit_batch_entries_sum")
    p = client()
    for i in range(3):
        p.send(f"/queue/{uid('q')}", f"m{i}", persistent="true")
    text = broker.metrics()
    assert value(text, "ferromq_fsync_seconds_count") > count0
    assert value(text, "ferromq_commit_batch_entries_count") > batch0
    assert value(text, "ferromq_commit_batch_entries_sum") >= entries0 + 3
    inf = [v for ls, v in samples(text, "ferromq_fsync_seconds_bucket") if ls.get("le") == "+Inf"]
    assert inf and inf[0] == value(text, "ferromq_fsync_seconds_count")
