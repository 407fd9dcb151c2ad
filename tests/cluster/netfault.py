"""Network partitions between brokers with iptables, in a chain of our own.

Each broker has its own loopback address (127.0.0.11, .12, .13) and binds
its replication connections to it, so a DROP on (source, destination)
address pairs cuts broker-to-broker traffic while the test process (which
talks from 127.0.0.1) can still reach every broker's STOMP and admin ports.

Rules live only in the FERROMQ_TEST chain, jumped to from INPUT: dropping
on INPUT is silent, as a lost network is (a DROP on OUTPUT would make the
sender's own syscalls fail with EPERM, which no real partition does).
`setup()` removes whatever an earlier crashed run left, `teardown()` removes
the jump and the chain, so the host's firewall is as it was.
"""

import shutil
import subprocess

CHAIN = "FERROMQ_TEST"
IPTABLES = shutil.which("iptables") or "/usr/sbin/iptables"


def _ipt(*args, check=True):
    r = subprocess.run([IPTABLES, "-w", "5", *args], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"iptables {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def available():
    """(ok, why): can this process manage iptables rules?"""
    if not shutil.which(IPTABLES):
        return False, "iptables is not installed"
    r = _ipt("-S", "INPUT", check=False)
    if r.returncode != 0:
        return False, f"iptables not usable here (root needed): {r.stderr.strip()}"
    return True, ""


class Partitions:
    """cut(a, b) drops all packets between two addresses, both directions."""

    def __init__(self):
        self.cuts = set()
        self.active = False

    def setup(self):
        self._remove_chain()
        _ipt("-N", CHAIN)
        _ipt("-I", "INPUT", "1", "-j", CHAIN)
        self.active = True
        return self

    def cut(self, a, b):
        """Drop every packet from a to b and from b to a."""
        for src, dst in ((a, b), (b, a)):
            _ipt("-A", CHAIN, "-s", src, "-d", dst, "-j", "DROP")
        self.cuts.add(frozenset((a, b)))

    def heal(self):
        """Remove every cut (the chain stays until teardown)."""
        _ipt("-F", CHAIN)
        self.cuts.clear()

    def rules(self):
        return _ipt("-S", CHAIN).stdout.splitlines()

    def teardown(self):
        self._remove_chain()
        self.active = False
        self.cuts.clear()

    @staticmethod
    def _remove_chain():
        for _ in range(20):  # every jump a crashed run may have left, bounded
            if _ipt("-D", "INPUT", "-j", CHAIN, check=False).returncode != 0:
                break
        if _ipt("-S", CHAIN, check=False).returncode == 0:
            _ipt("-F", CHAIN)
            _ipt("-X", CHAIN)

    @staticmethod
    def chain_exists():
        return _ipt("-S", CHAIN, check=False).returncode == 0
