"""CONNECT/STOMP, version negotiation, CONNECTED headers and RECEIPTs."""

import re

import pytest

from stompclient import uid

HB_RE = re.compile(r"^\d+,\d+$")


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_stomppy_connects_with_each_version(client, version):
    c = client(version)
    connected = c.listener.connected
    if version == "1.0":
        assert connected.headers.get("version", "1.0") == "1.0"
    else:
        assert connected.headers["version"] == version
        assert HB_RE.match(connected.headers["heart-beat"]), connected.headers
    assert connected.headers["server"].startswith("ferromq/"), connected.headers
    assert connected.headers["session"], connected.headers

    # And the connection really works in that version.
    q = f"/queue/{uid('v')}"
    body = uid("body")
    c.subscribe(q, "s1")
    c.send(q, body)
    [m] = c.expect_messages(1)
    assert m.body == body


@pytest.mark.parametrize("accept,expected", [
    ("1.0,1.1,1.2", "1.2"),
    ("1.2,1.0", "1.2"),
    ("1.0,1.1", "1.1"),
    ("1.1,2.0", "1.1"),
    ("1.0", "1.0"),
    ("1.0,9.9", "1.0"),
])
def test_negotiates_highest_common_version(raw, accept, expected):
    r = raw()
    connected = r.connect(version=accept)
    assert connected.headers.get("version", "1.0") == expected, connected.headers
    assert connected.headers["server"].startswith("ferromq/")
    assert connected.headers["session"]


def test_connect_without_accept_version_is_1_0(raw):
    r = raw()
    r.send_frame("CONNECT", [("login", "a"), ("passcode", "b")])
    connected = r.recv_frame()
    assert connected.command == "CONNECTED", connected
    assert connected.headers.get("version", "1.0") == "1.0", connected.headers


@pytest.mark.parametrize("command", ["CONNECT", "STOMP"])
def test_connect_and_stomp_commands_both_work(raw, command):
    r = raw()
    connected = r.connect(version="1.2", command=command)
    assert connected.headers["version"] == "1.2"


def test_no_common_version_is_an_error_listing_supported_versions(raw, client):
    bystander = client()
    r = raw()
    r.send_frame("CONNECT", [("accept-version", "2.0,3.1"), ("host", "localhost")])
    err = r.expect_error_and_close()
    assert err.headers.get("version") == "1.0,1.1,1.2", err
    assert err.headers.get("message"), err
    # Another connection is unaffected.
    q = f"/queue/{uid('q')}"
    bystander.subscribe(q)
    bystander.send(q, "still-alive")
    assert bystander.expect_messages(1)[0].body == "still-alive"


def test_login_and_passcode_are_not_checked(raw):
    r = raw()
    connected = r.connect(version="1.2", login="nobody-" + uid(), passcode="wrong")
    assert connected.headers["version"] == "1.2"


def test_sessions_are_distinct(raw):
    a, b = raw(), raw()
    sa = a.connect().headers["session"]
    sb = b.connect().headers["session"]
    assert sa != sb


def test_receipt_for_every_frame_type(raw):
    r = raw()
    r.connect(version="1.2")
    q = f"/queue/{uid('q')}"
    frames = [
        ("SUBSCRIBE", [("id", "s1"), ("destination", q), ("ack", "client-individual")]),
        ("SEND", [("destination", q)]),
        ("BEGIN", [("transaction", "t1")]),
        ("SEND", [("destination", q), ("transaction", "t1")]),
        ("COMMIT", [("transaction", "t1")]),
        ("BEGIN", [("transaction", "t2")]),
        ("ABORT", [("transaction", "t2")]),
    ]
    messages = []

    def expect_receipt(rid):
        """The RECEIPT for `rid`, collecting any MESSAGE that arrives first."""
        f = r.recv_frame()
        while f.command == "MESSAGE":
            messages.append(f)
            f = r.recv_frame()
        assert f.command == "RECEIPT" and f.headers["receipt-id"] == rid, (rid, f)

    for i, (cmd, headers) in enumerate(frames):
        r.send_frame(cmd, headers + [("receipt", f"rcpt-{i}")],
                     body=b"x" if cmd == "SEND" else b"")
        expect_receipt(f"rcpt-{i}")
    while len(messages) < 2:
        messages.append(r.recv_frame())
    assert [m.command for m in messages] == ["MESSAGE", "MESSAGE"]
    r.send_frame("ACK", [("id", messages[0].headers["ack"]), ("receipt", "rcpt-ack")])
    expect_receipt("rcpt-ack")
    r.send_frame("NACK", [("id", messages[1].headers["ack"]), ("receipt", "rcpt-nack")])
    expect_receipt("rcpt-nack")  # the NACKed message may come straight back first
    r.send_frame("UNSUBSCRIBE", [("id", "s1"), ("receipt", "rcpt-unsub")])
    expect_receipt("rcpt-unsub")
    r.send_frame("DISCONNECT", [("receipt", "rcpt-bye")])
    expect_receipt("rcpt-bye")
    assert r.wait_closed(), "broker kept the connection open after DISCONNECT"


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_disconnect_receipt_with_stomppy(client, version):
    c = client(version)
    c.disconnect()  # waits for the RECEIPT and then the close
    assert c.listener.disconnected


def test_receipt_id_is_escaped_in_1_2(raw):
    r = raw()
    r.connect(version="1.2")
    r.send_frame("SEND", [("destination", f"/queue/{uid('q')}"), ("receipt", r"a\cb\\c")],
                 body=b"x")
    f = r.recv_frame()
    assert f.command == "RECEIPT"
    assert f.headers["receipt-id"] == "a:b\\c", f.raw_head


def test_crlf_line_endings_in_1_2(raw):
    r = raw()
    r.connect(version="1.2")
    q = f"/queue/{uid('q')}"
    r.send_raw(f"SUBSCRIBE\r\nid:s1\r\ndestination:{q}\r\nreceipt:r1\r\n\r\n\x00".encode())
    assert r.recv_frame().headers.get("receipt-id") == "r1"
    r.send_raw(f"SEND\r\ndestination:{q}\r\ncontent-length:5\r\n\r\nhello\x00".encode())
    m = r.recv_frame()
    assert m.command == "MESSAGE" and m.body == b"hello", m
