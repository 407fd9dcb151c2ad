"""One stomp.py 1.2 connection to any broker address, with bounded waits.

The conformance suite's client always dials 127.0.0.1; cluster brokers
live on 127.0.0.11-13 and clients must follow `master` headers, so this
small session takes a "host:port". Its listener time-stamps every RECEIPT
as it is read off the socket (time.monotonic()), which is what the fencing
tests compare with the moment a new master was seen serving.
"""

import itertools
import queue
import re
import threading
import time

import stomp
from stomp.exception import StompException

from procs import TIMEOUT

_serials = itertools.count(1)


class Refused(Exception):
    """The broker answered CONNECT with ERROR (e.g. a replica naming its master)."""

    def __init__(self, frame):
        self.headers = dict(frame.headers) if frame is not None else {}
        self.message = self.headers.get("message", "")
        self.master = self.headers.get("master")
        super().__init__(f"CONNECT refused: {self.headers}")


class Unreachable(Exception):
    """No CONNECTED within the bound: socket refused, closed, or silence."""


def says_replica(message):
    return "replica" in message.lower()


def says_no_master(message):
    m = message.lower()
    return bool(re.search(r"\bno\b.*\bmaster\b|\bmaster\b.*\bnot\b.*\belected\b", m))


class Session(stomp.ConnectionListener):
    def __init__(self, address, heartbeats=(0, 0)):
        host, port = address.rsplit(":", 1)
        self.address, self.serial = address, next(_serials)
        self.conn = stomp.Connection12([(host, int(port))], prefer_localhost=False,
                                       try_loopback_connect=False, reconnect_attempts_max=1,
                                       heartbeats=heartbeats)
        self.conn.set_listener("session", self)
        self.cond = threading.Condition()
        self.connected = None
        self.errors, self.receipts = [], {}  # receipts: receipt-id -> monotonic arrival time
        self.receipt_log = []  # (receipt-id, arrival time) in arrival order
        self.inbox = queue.Queue()  # (frame, monotonic arrival time)
        self.disconnected = False
        self.opened_at = time.monotonic()

    def __repr__(self):
        return f"<Session #{self.serial} {self.address}>"

    # -- listener (stomp.py's receiver thread) -------------------------------
    def _note(self, fn):
        with self.cond:
            fn()
            self.cond.notify_all()

    def on_connected(self, frame):
        self._note(lambda: setattr(self, "connected", frame))

    def on_receipt(self, frame):
        rid, now = frame.headers.get("receipt-id"), time.monotonic()

        def note():
            self.receipts.setdefault(rid, now)
            self.receipt_log.append((rid, now))
        self._note(note)

    def receipts_from(self, k):
        """Receipts that arrived after the first k: (list of (id, time), new k)."""
        with self.cond:
            new = self.receipt_log[k:]
        return new, k + len(new)

    def on_error(self, frame):
        self._note(lambda: self.errors.append((time.monotonic(), frame)))

    def on_message(self, frame):
        self.inbox.put((frame, time.monotonic()))

    def on_disconnected(self):
        self._note(lambda: setattr(self, "disconnected", True))

    # -- client side -----------------------------------------------------------
    def connect(self, timeout=5.0):
        """CONNECT and wait (bounded) for CONNECTED; Refused or Unreachable otherwise."""
        try:
            self.conn.connect(wait=False, headers={"host": "ferromq"})
        except (StompException, OSError) as e:
            raise Unreachable(f"{self.address}: {e!r}") from None
        with self.cond:
            self.cond.wait_for(lambda: self.connected or self.errors or self.disconnected, timeout)
        if self.connected:
            return self
        self.close()
        if self.errors:
            raise Refused(self.errors[0][1])
        raise Unreachable(f"{self.address}: no CONNECTED within {timeout}s "
                          f"(disconnected={self.disconnected})")

    @property
    def broken(self):
        return self.disconnected or bool(self.errors)

    def send(self, dest, body, receipt=None, **headers):
        """SEND without waiting; False if the socket is already gone."""
        if receipt:
            headers["receipt"] = receipt
        try:
            self.conn.send(dest, body, headers=headers)
            return True
        except (StompException, OSError):
            self._note(lambda: setattr(self, "disconnected", True))
            return False

    def frame(self, command, headers):
        try:
            self.conn.send_frame(command, headers)
            return True
        except (StompException, OSError):
            self._note(lambda: setattr(self, "disconnected", True))
            return False

    def subscribe(self, dest, sub_id, ack="client-individual", prefetch=100, timeout=TIMEOUT):
        rid = f"sub-{self.serial}-{sub_id}"
        self.frame("SUBSCRIBE", {"destination": dest, "id": sub_id, "ack": ack,
                                 "activemq.prefetchSize": str(prefetch), "receipt": rid})
        return self.wait_receipt(rid, timeout)

    def wait_receipt(self, rid, timeout=TIMEOUT):
        """True once RECEIPT rid arrived; False on ERROR, close or timeout."""
        with self.cond:
            self.cond.wait_for(lambda: rid in self.receipts or self.broken, timeout)
            return rid in self.receipts

    def wait(self, pred, timeout):
        with self.cond:
            return self.cond.wait_for(lambda: pred(self), timeout)

    def error_messages(self):
        with self.cond:
            return [f.headers.get("message", "") for _, f in self.errors]

    def close(self):
        try:
            self.conn.transport.disconnect_socket()
        except Exception:  # noqa: BLE001 - already closed: nothing to do
            pass
