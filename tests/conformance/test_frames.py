"""Bodies (binary-safe, content-length) and header escaping per version."""

import pytest

from stompclient import uid

ALL_BYTES = bytes(range(256)) * 4 + b"\x00\x00tail\x00"


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_binary_body_with_nul_bytes_round_trips(client, version):
    producer = client(version)
    consumer = client(version, auto_decode=False)
    dest = f"/queue/{uid('bin')}"
    consumer.subscribe(dest, "s")
    producer.send(dest, ALL_BYTES)
    [m] = consumer.expect_messages(1)
    assert m.body == ALL_BYTES
    assert m.headers["content-length"] == str(len(ALL_BYTES))


def test_large_body_round_trips(client):
    producer, consumer = client(), client(auto_decode=False)
    dest = f"/queue/{uid('big')}"
    body = (bytes(range(256)) * 4096)[: 1024 * 1024 - 7]  # just under 1 MiB
    consumer.subscribe(dest, "s")
    producer.send(dest, body)
    [m] = consumer.expect_messages(1)
    assert m.body == body


def test_empty_body(raw):
    r = raw()
    r.connect()
    dest = f"/queue/{uid('q')}"
    r.send_frame("SUBSCRIBE", [("id", "s"), ("destination", dest)])
    r.send_frame("SEND", [("destination", dest)], b"")
    m = r.recv_frame()
    assert m.command == "MESSAGE" and m.body == b""
    assert m.headers.get("content-length", "0") == "0"


def test_body_without_content_length_is_delivered_with_one(raw):
    r = raw()
    r.connect()
    dest = f"/queue/{uid('q')}"
    r.send_frame("SUBSCRIBE", [("id", "s"), ("destination", dest)])
    r.send_frame("SEND", [("destination", dest)], b"no length given", content_length=False)
    m = r.recv_frame()
    assert m.body == b"no length given"
    assert m.headers["content-length"] == "15"


def test_utf8_header_and_body(client):
    producer, consumer = client(), client()
    dest = f"/queue/{uid('q')}"
    consumer.subscribe(dest, "s")
    producer.send(dest, "héllo wörld ✓ 日本", **{"x-name": "Zoë ✓"})
    [m] = consumer.expect_messages(1)
    assert m.body == "héllo wörld ✓ 日本"
    assert m.headers["x-name"] == "Zoë ✓"


@pytest.mark.parametrize("version,value", [
    ("1.2", "a:b\nc\\d\re:"),
    ("1.1", "a:b\nc\\d:"),
    ("1.0", "a:b:c"),
])
def test_header_value_round_trips(client, version, value):
    producer, consumer = client(version), client(version)
    dest = f"/queue/{uid('esc')}"
    consumer.subscribe(dest, "s")
    producer.send(dest, "m", **{"x-tricky": value})
    [m] = consumer.expect_messages(1)
    assert m.headers["x-tricky"] == value, m.headers


def test_header_is_escaped_on_the_wire_per_version(raw):
    dest = f"/queue/{uid('wire')}"
    c12, c10 = raw(version="1.2"), raw(version="1.0")
    c12.connect(version="1.2")
    c10.connect(version="1.0")
    c12.send_frame("SUBSCRIBE", [("id", "s"), ("destination", dest), ("receipt", "r")])
    assert c12.recv_frame().command == "RECEIPT"
    # 1.0 producer: the value a:b needs no escaping in 1.0
    c10.send_frame("SEND", [("destination", dest), ("x-h", "a:b")], b"one")
    m = c12.recv_frame()
    assert "\nx-h:a\\cb" in "\n" + m.raw_head, m.raw_head  # escaped for the 1.2 consumer
    assert m.headers["x-h"] == "a:b"
    c12.send_frame("UNSUBSCRIBE", [("id", "s"), ("receipt", "r2")])
    assert c12.recv_frame().command == "RECEIPT"
    c10.send_frame("SUBSCRIBE", [("id", "s"), ("destination", dest), ("receipt", "r")])
    assert c10.recv_frame().command == "RECEIPT"
    c12.send_frame("SEND", [("destination", dest), ("x-h", "c\\cd")], b"two")
    m = c10.recv_frame()
    assert m.body == b"two"
    assert "\nx-h:c:d" in "\n" + m.raw_head, m.raw_head  # not escaped for the 1.0 consumer


def test_first_of_repeated_headers_wins(raw):
    r = raw()
    r.connect(version="1.2")
    dest = f"/queue/{uid('dup')}"
    r.send_frame("SUBSCRIBE", [("id", "s"), ("destination", dest)])
    r.send_frame("SEND", [("destination", dest), ("x-dup", "first"), ("x-dup", "second")], b"m")
    m = r.recv_frame()
    assert m.headers["x-dup"] == "first", m.raw_head


def test_content_type_passes_through(client):
    producer, consumer = client(), client(auto_decode=False)
    dest = f"/queue/{uid('ct')}"
    consumer.subscribe(dest, "s")
    producer.send(dest, b"\x89PNG\x00\x01", content_type="image/png")
    [m] = consumer.expect_messages(1)
    assert m.headers["content-type"] == "image/png"
    assert m.body == b"\x89PNG\x00\x01"
