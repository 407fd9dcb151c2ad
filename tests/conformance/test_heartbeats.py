"""Heart-beating both ways (the broker runs with --heart-beat 500,500)."""

import time

import pytest

from stompclient import TIMEOUT, Client, uid

HB = ["--heart-beat", "500,500"]


@pytest.fixture
def hb_broker(broker_factory):
    return broker_factory(args=HB)


def send_with_receipt(r, rid):
    r.send_frame("SEND", [("destination", f"/queue/{uid('hb')}"), ("receipt", rid)], b"x")
    f = r.recv_frame()
    assert f.command == "RECEIPT" and f.headers["receipt-id"] == rid, f


def test_connected_heart_beat_header(raw, hb_broker):
    r = raw(hb_broker.port)
    connected = r.connect(heart_beat="1000,1000")
    sx, sy = (int(v) for v in connected.headers["heart-beat"].split(","))
    assert sx > 0 and sy > 0, connected.headers


def test_silent_client_that_promised_heart_beats_is_disconnected(raw, client, hb_broker):
    bystander = client(port=hb_broker.port)
    r = raw(hb_broker.port)
    r.connect(heart_beat="300,0")  # promises a beat every max(300, 500) ms
    send_with_receipt(r, "alive")
    # ...then says nothing at all.
    assert r.wait_closed(TIMEOUT), "broker never dropped a client that stopped heart-beating"
    assert hb_broker.alive()
    dest = f"/queue/{uid('q')}"
    bystander.subscribe(dest)
    bystander.send(dest, "ok")
    assert bystander.expect_messages(1)[0].body == "ok"


def test_client_that_heart_beats_stays_connected(raw, hb_broker):
    r = raw(hb_broker.port)
    r.connect(heart_beat="300,0")
    end = time.monotonic() + 3.0  # six negotiated intervals
    while time.monotonic() < end:
        r.send_raw(b"\n")
        time.sleep(0.1)
    send_with_receipt(r, "still-here")


def test_client_that_promised_nothing_is_not_disconnected_for_silence(raw, hb_broker):
    r = raw(hb_broker.port)
    r.connect(heart_beat="0,0")
    time.sleep(2.5)
    send_with_receipt(r, "still-here")


def test_broker_sends_heart_beats_when_asked(raw, hb_broker):
    r = raw(hb_broker.port)
    connected = r.connect(heart_beat="0,300")  # wants a beat every max(300, 500) ms
    assert connected.headers["heart-beat"].split(",")[0] != "0", connected.headers
    r.wait_heartbeats(3)


def test_broker_sends_no_heart_beats_when_not_asked(raw, hb_broker):
    r = raw(hb_broker.port)
    r.connect(heart_beat="0,0")
    assert r.count_heartbeats(1.6) == 0


def test_no_heart_beats_for_a_1_0_client(raw, hb_broker):
    r = raw(hb_broker.port, version="1.0")
    r.send_frame("CONNECT", [("login", "a"), ("passcode", "b"), ("heart-beat", "300,0")])
    assert r.recv_frame().command == "CONNECTED"
    # Heart-beating starts with STOMP 1.1: a 1.0 session must not be dropped
    # for a silence that a 1.1 client promising "300,0" would be dropped for.
    time.sleep(2.5)
    send_with_receipt(r, "still-here")


def test_stomppy_heart_beats_keep_the_connection_alive(hb_broker):
    c = Client(hb_broker.port, version="1.2", heartbeats=(200, 200), hb_scale=4.0)
    try:
        connected = c.connect()
        assert connected.headers["heart-beat"] != "0,0"
        time.sleep(3.0)
        assert not c.listener.disconnected, "connection dropped although heart-beats flowed"
        dest = f"/queue/{uid('q')}"
        c.subscribe(dest)
        c.send(dest, "after-idle")
        assert c.expect_messages(1)[0].body == "after-idle"
    finally:
        c.conn.transport.disconnect_socket()
