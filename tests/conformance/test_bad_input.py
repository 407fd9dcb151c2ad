"""Bad input: ERROR with a `message` saying what was wrong, then close.

Other connections must be unaffected, the broker must not crash, and a
receipted persistent message must survive.  The broker runs with small
limits so the over-limit cases are cheap.
"""

import pytest

from rawstomp import encode_frame
from stompclient import uid

LIMITS = ["--max-frame-bytes", "4096", "--max-header-bytes", "1024", "--max-headers", "16"]
Q = "/queue/bad-input-target"


def f(cmd, headers=(), body=b"", **kw):
    return encode_frame(cmd, list(headers), body, **kw)


CASES = {
    # name: (bytes sent after CONNECT, words of which the message must contain one)
    "unknown-command": (b"FROBNICATE\n\n\x00", ["command", "frobnicate"]),
    "header-without-colon": (b"SEND\ndestination:" + Q.encode() + b"\nno-colon\n\nx\x00",
                             ["header", "malformed"]),
    "undefined-escape": (b"SEND\ndestination:" + Q.encode() + b"\nx-h:a\\tb\n\nx\x00",
                         ["escape"]),
    "header-not-utf8": (b"SEND\ndestination:" + Q.encode() + b"\nx-h:\xff\xfe\n\nx\x00",
                        ["utf", "header", "encoding"]),
    "non-numeric-content-length": (f("SEND", [("destination", Q), ("content-length", "abc")],
                                     b"x", content_length=False), ["content-length", "length"]),
    "body-longer-than-content-length": (
        f("SEND", [("destination", Q), ("content-length", "2")], b"hello", content_length=False),
        ["nul", "content-length", "length", "body"]),
    "frame-too-large": (f("SEND", [("destination", Q)], b"z" * 10_000),
                        ["large", "exceed", "limit", "size", "too", "4096"]),
    "header-section-too-large": (f("SEND", [("destination", Q), ("x-big", "h" * 2000)], b"x"),
                                 ["header", "large", "exceed", "limit", "1024"]),
    "too-many-headers": (f("SEND", [("destination", Q)] + [(f"x-{i}", "v") for i in range(40)],
                           b"x"), ["header", "many", "16"]),
    "ack-unknown-id": (f("ACK", [("id", "no-such-ack")]), ["ack", "no-such-ack", "unknown"]),
    "nack-unknown-id": (f("NACK", [("id", "no-such-ack")]), ["ack", "no-such-ack", "unknown"]),
    "commit-unknown-transaction": (f("COMMIT", [("transaction", "no-such-tx")]),
                                   ["transaction", "no-such-tx"]),
    "abort-unknown-transaction": (f("ABORT", [("transaction", "no-such-tx")]),
                                  ["transaction", "no-such-tx"]),
    "send-in-unknown-transaction": (f("SEND", [("destination", Q), ("transaction", "no-such-tx")],
                                      b"x"), ["transaction", "no-such-tx"]),
    "commit-twice": (f("BEGIN", [("transaction", "t")]) + f("COMMIT", [("transaction", "t")])
                     + f("COMMIT", [("transaction", "t")]), ["transaction"]),
    "send-without-destination": (f("SEND", [], b"x"), ["destination"]),
    "send-to-bad-destination": (f("SEND", [("destination", "/foo/bar")], b"x"),
                                ["destination", "/foo/bar"]),
    "subscribe-to-bad-destination": (f("SUBSCRIBE", [("id", "s"), ("destination", "nope")]),
                                     ["destination", "nope"]),
}


@pytest.fixture
def limited(broker_factory):
    return broker_factory(args=LIMITS)


def check_bystander(bystander, broker):
    assert broker.alive(), "broker process died"
    dest = f"/queue/{uid('by')}"
    bystander.subscribe(dest)
    bystander.send(dest, "bystander-ok")
    assert [m.body for m in bystander.expect_messages(1)] == ["bystander-ok"]


def send_tolerant(r, data):
    try:
        r.send_raw(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the broker may close before reading everything: fine


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_error_and_close(case, limited, raw, client):
    data, words = CASES[case]
    bystander = client(port=limited.port)
    r = raw(limited.port)
    r.connect(version="1.2")
    keep = uid("keep")
    r.send_frame("SEND", [("destination", Q), ("persistent", "true"), ("receipt", "p")],
                 keep.encode())
    assert r.recv_frame().headers.get("receipt-id") == "p"
    send_tolerant(r, data)
    err = r.expect_error_and_close()
    text = (err.headers.get("message", "") + " " + err.body.decode(errors="replace")).lower()
    assert err.headers.get("message"), f"ERROR without a message header: {err}"
    assert any(w in text for w in words), f"message {text!r} does not mention any of {words}"
    check_bystander(bystander, limited)
    # the receipted persistent message is still there, and nothing else arrived
    bystander.subscribe(Q, "keep")
    assert [m.body for m in bystander.expect_messages(2)] == ["bystander-ok", keep]


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_ack_unknown_message_id_in_old_versions(version, raw, broker, client):
    bystander = client()
    r = raw(version=version)
    r.connect(version=version)
    r.send_frame("ACK", [("message-id", "no-such-message"), ("subscription", "s")])
    err = r.expect_error_and_close()
    assert err.headers.get("message"), err
    check_bystander(bystander, broker)


def test_garbage_before_connect(raw, broker, client):
    bystander = client()
    r = raw()
    r.send_raw(b"HELLO THERE\n\n\x00")
    err = r.expect_error_and_close()
    assert err.headers.get("message"), err
    check_bystander(bystander, broker)


def test_frames_inside_the_limits_are_accepted(limited, raw):
    r = raw(limited.port)
    r.connect(version="1.2")
    dest = f"/queue/{uid('ok')}"
    r.send_frame("SUBSCRIBE", [("id", "s"), ("destination", dest)])
    headers = [("destination", dest), ("x-pad", "p" * 500)] + [(f"x-{i}", "v") for i in range(8)]
    r.send_frame("SEND", headers, b"b" * 3000)
    m = r.recv_frame()
    assert m.command == "MESSAGE" and m.body == b"b" * 3000, m


def test_default_header_limit(broker, raw, client):
    bystander = client()
    r = raw()
    r.connect(version="1.2")
    send_tolerant(r, f("SEND", [("destination", Q), ("x-big", "h" * 70_000)], b"x"))
    err = r.expect_error_and_close()
    assert err.headers.get("message"), err
    check_bystander(bystander, broker)


def test_default_frame_limit(broker, raw, client):
    bystander = client()
    r = raw()
    r.connect(version="1.2")
    send_tolerant(r, f("SEND", [("destination", Q)], b"z" * (10 * 1024 * 1024 + 10)))
    err = r.expect_error_and_close()
    assert err.headers.get("message"), err
    check_bystander(bystander, broker)


def test_many_bad_connections_do_not_hurt_the_broker(limited, raw, client):
    bystander = client(port=limited.port)
    for case in sorted(CASES):
        r = raw(limited.port)
        r.connect(version="1.2")
        send_tolerant(r, CASES[case][0])
        r.expect_error_and_close()
        r.close()
    check_bystander(bystander, limited)
    limited.wait_status(lambda s: s["connections"] == 1, "only the bystander connected")


def test_ack_of_another_connections_message_is_unknown(raw, broker, client):
    owner, producer = client(), client()
    name = uid("q")
    owner.subscribe(f"/queue/{name}", "s", ack="client-individual")
    producer.send(f"/queue/{name}", "owned")
    [m] = owner.expect_messages(1)
    thief = raw()
    thief.connect(version="1.2")
    thief.send_frame("ACK", [("id", m.headers["ack"])])
    err = thief.expect_error_and_close()
    assert err.headers.get("message"), err
    assert broker.queue(name)["inflight"] == 1, "another connection's ACK took effect"
    owner.ack(m)
    broker.wait_status(lambda s: s["queues"][name]["depth"] == 0, "depth 0 after owner's ACK")


def test_max_headers_is_inclusive(limited, raw):
    dest = f"/queue/{uid('n')}"
    ok = raw(limited.port)
    ok.connect(version="1.2")
    # destination + receipt + 14 more = exactly 16 headers: accepted; 17 are not
    ok.send_frame("SEND", [("destination", dest), ("receipt", "r")]
                  + [(f"x-{i}", "v") for i in range(14)], b"x", content_length=False)
    assert ok.recv_frame().headers.get("receipt-id") == "r"
    bad = raw(limited.port)
    bad.connect(version="1.2")
    bad.send_frame("SEND", [("destination", dest), ("receipt", "r")]
                   + [(f"x-{i}", "v") for i in range(15)], b"x", content_length=False)
    bad.expect_error_and_close()
