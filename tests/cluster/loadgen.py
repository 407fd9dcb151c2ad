"""Steady load that survives failover: producers and consumers over stomp.py.

A Producer sends persistent messages, each with a unique id (in the body
and in a `test-id` header) and a receipt, keeping up to `window` in flight.
Only ids whose RECEIPT arrived count: that is the broker's promise. When
its connection breaks, errs or goes silent for `receipt_timeout` (5 s: a
paused or cut-off master would hold it for good), it drops
the connection, asks the cluster's /status for the current master and goes
on there with new ids; unreceipted sends are never retried or counted.
A Consumer acks each message (client-individual) with a receipt and
records every delivery and every receipted ACK for the checker.
"""

import itertools
import queue
import threading
import time

from stompconn import Refused, Session, Unreachable

RECONNECT_PAUSE = 0.2


class _Worker(threading.Thread):
    """Shared reconnect loop: find the master, connect, follow `master` headers."""

    def __init__(self, cluster, name):
        super().__init__(daemon=True, name=name)
        self.cluster, self.label = cluster, name
        self.stopping = threading.Event()
        self.sessions = []  # every Session opened, in order
        self.refusals = []  # (time, address, error headers)
        self.failure = None

    def open_session(self):
        """A connected Session to the master, or None (the caller retries)."""
        address = self.cluster.master_address()
        for _ in range(3):  # at most two redirects per try
            if address is None or self.stopping.is_set():
                return None
            s = Session(address)
            try:
                s.connect(timeout=5)
            except Refused as e:
                self.refusals.append((time.monotonic(), address, e.headers))
                address = e.master
                continue
            except Unreachable:
                return None
            self.sessions.append(s)
            return s
        return None

    def run(self):
        try:
            while not self.stopping.is_set():
                s = self.open_session()
                if s is None:
                    self.stopping.wait(RECONNECT_PAUSE)
                    continue
                try:
                    self.work(s)
                finally:
                    s.close()
                    self.harvest(s)
        except Exception as e:  # noqa: BLE001 - reported by stop(), not lost in a thread
            self.failure = e
            raise

    def stop(self, timeout=30):
        self.stopping.set()
        self.join(timeout)
        assert not self.is_alive(), f"{self.label} did not stop within {timeout}s"
        assert self.failure is None, f"{self.label} crashed: {self.failure!r}"

    def work(self, session):
        raise NotImplementedError

    def harvest(self, session):
        """Collect what a session recorded, after it is closed."""


class Producer(_Worker):
    def __init__(self, cluster, queue_name, name, window=8, receipt_timeout=5.0,
                 limit=None, interval=0.0):
        super().__init__(cluster, name)
        self.dest = f"/queue/{queue_name}"
        self.window, self.receipt_timeout = window, receipt_timeout
        self.limit, self.interval = limit, interval
        self.seq = itertools.count()
        self.sent = {}  # id -> (send time, session serial)
        self.receipted = {}  # id -> (receipt time, session serial, address)
        self._pending = {}  # session serial -> {receipt id: message id}
        self.lock = threading.Lock()

    def work(self, s):
        pending = self._pending.setdefault(s.serial, {})
        while not self.stopping.is_set() and not s.broken:
            while (len(pending) < self.window and not self.stopping.is_set()
                   and (self.limit is None or len(self.sent) < self.limit)):
                mid = f"{self.label}-{next(self.seq):07d}"
                rid = f"rc-{mid}"
                self.sent[mid] = (time.monotonic(), s.serial)
                pending[rid] = mid
                if not s.send(self.dest, mid, receipt=rid, persistent="true", **{"test-id": mid}):
                    return
                if self.interval:
                    self.stopping.wait(self.interval)
            if not pending:
                self.stopping.wait(0.05)  # limit reached: idle until stopped
                continue
            if not self._await_progress(s, pending):
                return  # silence: this broker may be paused or cut off

    def _await_progress(self, s, pending):
        """Wait until a pending send is receipted or s breaks; False after silence."""
        deadline = time.monotonic() + self.receipt_timeout
        while not self.stopping.is_set():
            if s.wait(lambda ss: any(r in ss.receipts for r in pending) or ss.broken, 0.2):
                self._collect(s)
                return True
            if time.monotonic() > deadline:
                return False
        return True

    def _collect(self, s):
        pending = self._pending.get(s.serial, {})
        with s.cond:
            got = [(rid, s.receipts[rid]) for rid in list(pending) if rid in s.receipts]
        with self.lock:
            for rid, at in got:
                self.receipted[pending.pop(rid)] = (at, s.serial, s.address)

    def harvest(self, s):
        self._collect(s)  # receipts read just before the close still count

    def receipted_count(self, since=None):
        with self.lock:
            return sum(1 for at, _, _ in self.receipted.values() if since is None or at > since)

    def receipts_on(self, address, after):
        """Receipts read on connections to `address` later than `after`."""
        with self.lock:
            return [(mid, at) for mid, (at, _, addr) in self.receipted.items()
                    if addr == address and at > after]


class Consumer(_Worker):
    def __init__(self, cluster, queue_name, name, prefetch=50):
        super().__init__(cluster, name)
        self.dest, self.prefetch = f"/queue/{queue_name}", prefetch
        self.deliveries = []  # (id, redelivered, time, session serial)
        self.acked = {}  # id -> time its ACK's RECEIPT arrived
        self._acks = {}  # (session serial, receipt id) -> id
        self._read = {}  # session serial -> receipts already looked at

    def work(self, s):
        if not s.subscribe(self.dest, f"c-{self.label}", prefetch=self.prefetch, timeout=10):
            return
        n = 0
        while not self.stopping.is_set() and not s.broken:
            try:
                frame, at = s.inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            mid = frame.headers.get("test-id", frame.body)
            self.deliveries.append((mid, frame.headers.get("redelivered") == "true", at, s.serial))
            n += 1
            rid = f"ack-{s.serial}-{n}"
            self._acks[(s.serial, rid)] = mid
            s.frame("ACK", {"id": frame.headers.get("ack", ""), "receipt": rid})
            self._collect(s)

    def _collect(self, s):
        got, self._read[s.serial] = s.receipts_from(self._read.get(s.serial, 0))
        for rid, at in got:
            mid = self._acks.pop((s.serial, rid), None)
            if mid is not None:
                self.acked.setdefault(mid, at)

    def harvest(self, s):
        self._collect(s)
        while True:  # frames read before the close were delivered all the same
            try:
                frame, at = s.inbox.get_nowait()
            except queue.Empty:
                return
            mid = frame.headers.get("test-id", frame.body)
            self.deliveries.append((mid, frame.headers.get("redelivered") == "true", at, s.serial))


class Load:
    """A set of producers and consumers on one queue, started and stopped together."""

    def __init__(self, cluster, queue_name, producers=2, consumers=0, **producer_kw):
        self.queue = queue_name
        getattr(cluster, "loads", []).append(self)  # so teardown stops it if the test fails
        self.producers = [Producer(cluster, queue_name, f"{queue_name}-p{k}", **producer_kw)
                          for k in range(producers)]
        self.consumers = [Consumer(cluster, queue_name, f"{queue_name}-c{k}")
                          for k in range(consumers)]

    def start(self):
        for w in self.producers + self.consumers:
            w.start()
        return self

    def workers(self):
        return self.producers + self.consumers

    def stop(self):
        for w in self.workers():
            w.stop()

    def abandon(self):
        """Stop without judging (teardown after a failure)."""
        for w in self.workers():
            w.stopping.set()
        for w in self.workers():
            w.join(timeout=5)

    def receipted_count(self, since=None):
        return sum(p.receipted_count(since) for p in self.producers)

    def wait_receipts(self, n, since=None, timeout=30, what=""):
        """Wait (bounded) until producers got n more receipts after `since`: the cluster serves."""
        deadline = time.monotonic() + timeout
        while self.receipted_count(since) < n:
            crashed = [w for w in self.workers() if w.failure is not None]
            assert not crashed, f"{crashed[0].label} crashed: {crashed[0].failure!r}"
            if time.monotonic() > deadline:
                raise AssertionError(f"only {self.receipted_count(since)} of {n} receipts "
                                     f"{what} within {timeout}s")
            time.sleep(0.1)

    def receipts_on(self, address, after):
        return [r for p in self.producers for r in p.receipts_on(address, after)]


class Manual:
    """A producer the test drives step by step on one connection it never drops.

    The fencing tests need exactly that: a client that stays connected to
    an old master through a pause or a cut and reports what it hears."""

    def __init__(self, address, queue_name, name):
        self.dest, self.label = f"/queue/{queue_name}", name
        self.session = Session(address).connect(timeout=10)
        self.seq = itertools.count()
        self.sent, self.receipted = {}, {}

    def send(self, n, wait=True, timeout=30.0):
        """Send n persistent messages; with wait, each must be receipted in turn."""
        ids = []
        for _ in range(n):
            mid = f"{self.label}-{next(self.seq):07d}"
            self.sent[mid] = (time.monotonic(), self.session.serial)
            self.session.send(self.dest, mid, receipt=f"rc-{mid}", persistent="true",
                              **{"test-id": mid})
            if wait:
                assert self.session.wait_receipt(f"rc-{mid}", timeout), \
                    f"no RECEIPT for {mid}: errors={self.session.error_messages()}"
            ids.append(mid)
        self.collect()
        return ids

    def collect(self):
        s = self.session
        with s.cond:
            got = dict(s.receipts)
        for rid, at in got.items():
            if rid.startswith("rc-") and rid[3:] in self.sent:
                self.receipted.setdefault(rid[3:], (at, s.serial, s.address))
        return self.receipted

    def receipts_after(self, t):
        return sorted((mid, at) for mid, (at, _, _) in self.collect().items() if at > t)

    def close(self):
        self.session.close()
