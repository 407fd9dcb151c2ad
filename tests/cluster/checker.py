"""Did the cluster keep its promises? Drain the queues, compare with receipts.

Invariant 1 of DESIGN.md: a RECEIPT for a persistent SEND means the message
is on a quorum and will be delivered; a receipted ACK never comes back.
`drain` empties queues from the current master; `check` then asserts every
receipted id was delivered at least once, no receipted ACK was followed by
another delivery, and nothing we never sent showed up. A duplicate is
allowed only with `redelivered:true` or across a failover; the counts of
each kind are reported, so a run shows what it exercised.
"""

import queue
import time
from collections import defaultdict
from dataclasses import dataclass, field

from procs import TIMEOUT
from stompconn import Session

IDLE = 1.0  # seconds without a message before the drain trusts the queue is empty


def drain(cluster, queues, expect=(), timeout=60.0):
    """Consume every queue from the master: [(id, redelivered, time)].

    Stops once every `expect`ed id arrived (or `timeout`), the master's
    /status shows the queues empty, and no message came for IDLE seconds."""
    m = cluster.master()
    s = Session(m.client_address).connect(timeout=10)
    got, missing = [], set(expect)
    try:
        for k, q in enumerate(queues):
            assert s.subscribe(f"/queue/{q}", f"drain-{k}", ack="auto", prefetch=1000, timeout=TIMEOUT), \
                f"drain SUBSCRIBE to {q} got no receipt: {s.error_messages()}"
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline and not s.broken:
            try:
                frame, at = s.inbox.get(timeout=0.1)
            except queue.Empty:
                if not missing and time.monotonic() - last > IDLE and _empty(m, queues):
                    break
                continue
            mid = frame.headers.get("test-id", frame.body)
            got.append((mid, frame.headers.get("redelivered") == "true", at))
            missing.discard(mid)
            last = time.monotonic()
        assert not s.broken, f"drain connection broke: {s.error_messages()}"
    finally:
        s.close()
    return got


def _empty(master, queues):
    st = master.status() or {}
    qs = st.get("queues") or {}
    return all((qs.get(q) or {}).get("depth", 0) == 0 for q in queues)


@dataclass
class Report:
    receipted: int = 0
    delivered_ids: int = 0
    deliveries: int = 0
    missing: list = field(default_factory=list)
    acked_came_back: list = field(default_factory=list)
    unknown: list = field(default_factory=list)
    dup_redelivered: int = 0
    dup_after_failover: int = 0
    dup_unexplained: list = field(default_factory=list)
    unconfirmed_delivered: int = 0

    def __str__(self):
        return (f"receipted={self.receipted} delivered_ids={self.delivered_ids} "
                f"deliveries={self.deliveries} missing={len(self.missing)} "
                f"acked_came_back={len(self.acked_came_back)} unknown={len(self.unknown)} "
                f"dups(redelivered={self.dup_redelivered} after_failover={self.dup_after_failover}"
                f" unexplained={len(self.dup_unexplained)}) "
                f"unconfirmed_but_delivered={self.unconfirmed_delivered}")

    def assert_ok(self):
        print(f"\ndelivery check: {self}")
        assert self.receipted > 0, "no message was ever receipted: the test exercised nothing"
        assert not self.missing, f"receipted messages lost: {len(self.missing)}, e.g. {self.missing[:10]}"
        assert not self.acked_came_back, \
            f"receipted ACKs came back: {len(self.acked_came_back)}, e.g. {self.acked_came_back[:10]}"
        assert not self.unknown, f"messages nobody sent: {self.unknown[:10]}"
        assert not self.dup_unexplained, \
            f"duplicates without redelivered:true or failover: {self.dup_unexplained[:10]}"
        return self


def check(load_or_producers, drained, consumers=(), failovers=()):
    """Compare receipts with deliveries (consumers' and the final drain's).

    `failovers`: monotonic times of master changes. A second delivery is an
    allowed duplicate if it carries redelivered:true, or if a failover came
    between the opening of the connection the previous copy came on and it."""
    producers = getattr(load_or_producers, "producers", load_or_producers)
    consumers = list(consumers) or list(getattr(load_or_producers, "consumers", []))
    receipted = {mid for p in producers for mid in p.receipted}
    sent = {mid for p in producers for mid in p.sent}
    acked = {}
    for c in consumers:
        acked.update(c.acked)
    sessions = {s.serial: s for c in consumers for s in getattr(c, "sessions", [])}
    deliveries = []
    for c in consumers:
        for mid, red, at, serial in c.deliveries:
            s = sessions.get(serial)
            deliveries.append((mid, red, at, f"consumer#{serial}@{s.address if s else '?'}",
                               s.opened_at if s else at))
    deliveries += [(mid, red, at, "drain", at) for mid, red, at in drained]
    deliveries.sort(key=lambda d: d[2])

    r = Report(receipted=len(receipted), deliveries=len(deliveries))
    by_id = defaultdict(list)
    opened = {}  # (id, delivery time) -> when the connection it came on was opened
    for mid, red, at, source, since in deliveries:
        by_id[mid].append((red, at, source))
        opened[(mid, at)] = since
    r.delivered_ids = len(by_id)
    r.missing = sorted(receipted - set(by_id))
    r.unknown = sorted(set(by_id) - sent)
    r.unconfirmed_delivered = len((set(by_id) & sent) - receipted)
    t0 = min([d[2] for d in deliveries] + list(failovers), default=0.0)
    for mid, ds in by_id.items():
        if mid in acked and any(at > acked[mid] for _, at, _ in ds):
            r.acked_came_back.append(_story(mid, ds, t0, acked.get(mid), failovers))
        for (_, prev_at, _), (red, at, _) in zip(ds, ds[1:]):
            if red:
                r.dup_redelivered += 1
            elif any(opened[(mid, prev_at)] <= f <= at for f in failovers):
                # The earlier copy came on a connection that lived through a
                # failover (frames read just after a kill were sent before it).
                r.dup_after_failover += 1
            else:
                r.dup_unexplained.append(_story(mid, ds, t0, acked.get(mid), failovers))
    return r


def _story(mid, ds, t0, acked_at, failovers):
    """One id's deliveries as a line a person can read (times from the first event)."""
    events = [(at, source + (" redelivered" if red else "")) for red, at, source in ds]
    events += [(acked_at, "ACK receipted")] if acked_at is not None else []
    events += [(f, "failover") for f in failovers]
    return f"{mid}: " + ", ".join(f"{what} +{at - t0:.3f}s" for at, what in sorted(events))


def expected_in_drain(load):
    """Receipted ids no consumer has seen yet: the drain must find them all."""
    seen = {mid for c in getattr(load, "consumers", []) for mid, _, _, _ in c.deliveries}
    return {mid for p in getattr(load, "producers", load) for mid in p.receipted} - seen
