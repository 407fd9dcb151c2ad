"""Without a quorum the master must not pretend: no RECEIPT, then an ERROR.

With both replicas dead a persistent SEND cannot reach `replicas/2+1`
nodes, so invariant 1 forbids its receipt; after --quorum-timeout (3 s
here) the client is told, with an ERROR naming the quorum. Once a replica
is back the cluster serves again and has lost nothing it receipted.
"""

import time

from checker import check, drain
from loadgen import Manual
from procs import TIMEOUT, uid


def test_without_a_quorum_a_persistent_send_gets_an_error_not_a_receipt(make_cluster):
    c = make_cluster(quorum_timeout="3s")
    m = c.master()
    q = uid("quorum")
    before = Manual(m.client_address, q, f"{q}-before")
    before.send(10)

    for r in c.others(m):
        r.kill9()
    s = before.session
    t0 = time.monotonic()
    rid = f"rc-{before.send(1, wait=False)[0]}"
    s.wait(lambda ss: ss.errors or ss.disconnected or rid in ss.receipts, 3 + TIMEOUT)
    waited = time.monotonic() - t0
    assert rid not in s.receipts, "receipted without a quorum"
    errors = s.error_messages()
    assert errors, f"no ERROR within {3 + TIMEOUT:.0f}s (disconnected={s.disconnected})"
    assert "quorum" in errors[0].lower(), errors
    print(f"\nERROR after {waited:.1f}s: {errors[0]!r}")
    before.close()

    back = c.others(m)[0]
    back.start()
    m2 = c.master(timeout=40)
    after = Manual(m2.client_address, q, f"{q}-after")
    after.send(10)
    after.close()
    drained = drain(c, [q], expect=set(before.receipted) | set(after.receipted))
    check([before, after], drained).assert_ok()
    c.assert_one_master_per_epoch()
