"""stomp.py-based client helpers for the conformance suite.

`Client` wraps a stomp.py connection (the third-party client under which the
broker must behave) and makes every wait bounded and receipt-synchronised.
"""

import os
import threading
import time
import uuid

import stomp

# How long to wait for something that must happen (liveness only).
TIMEOUT = float(os.environ.get("FERROMQ_TEST_TIMEOUT", "30"))
# How long to keep listening to be sure nothing *extra* arrives.
GRACE = float(os.environ.get("FERROMQ_TEST_GRACE", "0.7"))

CONNECTIONS = {"1.0": stomp.StompConnection10, "1.1": stomp.StompConnection11,
               "1.2": stomp.StompConnection12}


def uid(prefix="x"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def eventually(pred, what, timeout=TIMEOUT, interval=0.02):
    """Poll `pred` until true (bounded); fail naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def bodies(msgs):
    return [m.body for m in msgs]


class Collector(stomp.ConnectionListener):
    """Records every frame a stomp.py connection receives."""

    def __init__(self):
        self.cond = threading.Condition()
        self.connected = None
        self.messages = []
        self.receipts = []
        self.errors = []
        self.disconnected = False

    def _add(self, fn):
        with self.cond:
            fn()
            self.cond.notify_all()

    def on_connected(self, frame):
        self._add(lambda: setattr(self, "connected", frame))

    def on_message(self, frame):
        self._add(lambda: self.messages.append(frame))

    def on_receipt(self, frame):
        self._add(lambda: self.receipts.append(frame.headers.get("receipt-id")))

    def on_error(self, frame):
        self._add(lambda: self.errors.append(frame))

    def on_disconnected(self):
        self._add(lambda: setattr(self, "disconnected", True))

    def wait(self, pred, what, timeout=TIMEOUT):
        with self.cond:
            if not self.cond.wait_for(pred, timeout):
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}; messages="
                    f"{[(m.headers, m.body) for m in self.messages]} errors="
                    f"{[(e.headers, e.body) for e in self.errors]}")


class Client:
    """A stomp.py connection with bounded, receipt-synchronised operations."""

    def __init__(self, port, version="1.2", heartbeats=(0, 0), auto_decode=True,
                 hb_scale=4.0):
        self.version = version
        # No socket timeout: stomp.py would treat an idle read timeout as a disconnect.
        kwargs = dict(auto_decode=auto_decode, reconnect_attempts_max=1)
        if version != "1.0":
            kwargs.update(heartbeats=heartbeats, heart_beat_receive_scale=hb_scale)
        self.conn = CONNECTIONS[version]([("127.0.0.1", port)], **kwargs)
        self.listener = Collector()
        self.conn.set_listener("collector", self.listener)

    # -- connection ------------------------------------------------------
    def connect(self, **headers):
        self.conn.connect(username="guest", passcode="guest", wait=False, headers=headers)
        self.listener.wait(lambda: self.listener.connected is not None or self.listener.errors,
                           "CONNECTED")
        assert self.listener.connected is not None, f"connect failed: {self.listener.errors}"
        return self.listener.connected

    def disconnect(self):
        """DISCONNECT with a receipt, then wait (bounded) for the socket to close."""
        if not self.conn.is_connected():
            return
        rid = uid("disc")
        self.conn.set_receipt(rid, "DISCONNECT")
        self.conn.send_frame("DISCONNECT", {"receipt": rid})
        self.wait_receipt(rid)
        self.listener.wait(lambda: self.listener.disconnected, "socket close after DISCONNECT")

    def drop(self):
        """Close the socket without DISCONNECT (a crashed client)."""
        try:
            self.conn.transport.disconnect_socket()
        except Exception:
            pass
        self.listener.wait(lambda: self.listener.disconnected, "local socket close")

    # -- receipts ----------------------------------------------------------
    def wait_receipt(self, rid):
        self.listener.wait(lambda: rid in self.listener.receipts, f"RECEIPT {rid}")
        assert not self.listener.errors, f"unexpected ERROR: {self.listener.errors[0].headers}"

    def _rcpt(self, headers, receipt):
        if receipt:
            headers["receipt"] = uid("r")
        return headers.get("receipt")

    # -- frames ------------------------------------------------------------
    def send(self, dest, body, receipt=True, content_type=None, **headers):
        headers = dict(headers)
        rid = self._rcpt(headers, receipt)
        self.conn.send(dest, body, content_type=content_type, headers=headers)
        if rid:
            self.wait_receipt(rid)

    def subscribe(self, dest, sub_id=None, ack="auto", prefetch=None, receipt=True, **headers):
        sub_id = sub_id or uid("sub")
        headers = dict(headers)
        if prefetch is not None:
            headers["activemq.prefetchSize"] = str(prefetch)
        rid = self._rcpt(headers, receipt)
        self.conn.subscribe(dest, id=sub_id, ack=ack, headers=headers)
        if rid:
            self.wait_receipt(rid)
        return sub_id

    def unsubscribe(self, sub_id, receipt=True):
        headers = {}
        rid = self._rcpt(headers, receipt)
        if self.version == "1.0":
            self.conn.unsubscribe(id=sub_id, headers=headers)
        else:
            self.conn.unsubscribe(sub_id, headers=headers)
        if rid:
            self.wait_receipt(rid)

    def _ack_headers(self, msg):
        if self.version == "1.2":
            return {"id": msg.headers["ack"]}
        return {"message-id": msg.headers["message-id"],
                "subscription": msg.headers["subscription"]}

    def ack(self, msg, transaction=None, receipt=True, cmd="ACK"):
        headers = self._ack_headers(msg)
        if transaction:
            headers["transaction"] = transaction
        rid = self._rcpt(headers, receipt)
        self.conn.send_frame(cmd, headers)
        if rid:
            self.wait_receipt(rid)

    def nack(self, msg, transaction=None, receipt=True):
        self.ack(msg, transaction, receipt, cmd="NACK")

    def tx(self, cmd, txid, receipt=True):
        headers = {"transaction": txid}
        rid = self._rcpt(headers, receipt)
        self.conn.send_frame(cmd, headers)
        if rid:
            self.wait_receipt(rid)

    # -- messages ----------------------------------------------------------
    @property
    def messages(self):
        with self.listener.cond:
            return list(self.listener.messages)

    def wait_messages(self, n, timeout=TIMEOUT):
        self.listener.wait(lambda: len(self.listener.messages) >= n, f"{n} MESSAGE(s)", timeout)
        return self.messages

    def expect_messages(self, n, grace=GRACE):
        """Wait for n messages, then listen a little longer: exactly n must arrive."""
        self.wait_messages(n)
        time.sleep(grace)
        msgs = self.messages
        assert len(msgs) == n, f"expected exactly {n} messages, got {len(msgs)}: {bodies(msgs)}"
        return msgs

    def clear(self):
        with self.listener.cond:
            self.listener.messages.clear()
