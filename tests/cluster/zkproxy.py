"""A TCP forwarder in front of the ZooKeeper ensemble, one per broker.

Every broker's ZooKeeper traffic comes from 127.0.0.1 (the ZooKeeper client
cannot bind a source address), so iptables cannot cut one broker off from
ZooKeeper without cutting them all. Instead each broker's --zk-address
lists the ports of its own proxy, one port per ensemble server. The proxy's
`blackhole()` stops moving bytes in both directions but keeps every socket
open, as a dropped network does: the broker sees silence, not a reset, and
must notice on its own that its session may be gone. `heal()` resumes the
flow; connections accepted while blackholed are then closed (a client that
never heard back would have given up on them anyway) so clients reconnect.
"""

import select
import socket
import threading

from procs import free_port

POLL = 0.05  # seconds a pump waits before re-checking its flags


class _Pump(threading.Thread):
    """Moves bytes between one client socket and its upstream socket."""

    def __init__(self, proxy, client, upstream):
        super().__init__(daemon=True, name="zkproxy-pump")
        self.proxy, self.client, self.upstream = proxy, client, upstream

    def run(self):
        peer = {self.client: self.upstream, self.upstream: self.client}
        try:
            while not self.proxy.closed:
                if self.proxy.blackholed:
                    self.proxy.wake.wait(POLL)
                    continue
                readable, _, _ = select.select(list(peer), [], [], POLL)
                if self.proxy.blackholed:
                    continue  # the cut happened while waiting: deliver nothing
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    peer[s].sendall(data)
        except OSError:
            return
        finally:
            for s in peer:
                _close(s)
            self.proxy.forget(self)


def _close(s):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


class ZkProxy:
    """Listens on 127.0.0.1, one port per upstream (host, port)."""

    def __init__(self, upstreams, name="zkproxy"):
        self.upstreams = list(upstreams)
        self.name = name
        self.blackholed = False
        self.closed = False
        self.wake = threading.Event()  # set while flowing: blackholed pumps wait on it
        self.wake.set()
        self.lock = threading.Lock()
        self.pumps, self.held = set(), []
        self.listeners = []
        for host, port in self.upstreams:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", free_port()))
            sock.listen(64)
            sock.settimeout(POLL)
            self.listeners.append((sock, (host, port)))
        self.threads = [threading.Thread(target=self._accept, args=(sock, up), daemon=True,
                                         name=f"{name}-accept") for sock, up in self.listeners]
        for t in self.threads:
            t.start()

    @property
    def ports(self):
        return [sock.getsockname()[1] for sock, _ in self.listeners]

    @property
    def address(self):
        """The connect string a broker gives as --zk-address."""
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def _accept(self, sock, upstream):
        while not self.closed:
            try:
                client, _ = sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if self.blackholed:
                with self.lock:
                    self.held.append(client)  # accepted by the kernel, answered by nobody
                continue
            try:
                up = socket.create_connection(upstream, timeout=2)
            except OSError:
                _close(client)  # that ensemble server is down: refuse, like it would
                continue
            up.settimeout(None)
            client.settimeout(None)
            pump = _Pump(self, client, up)
            with self.lock:
                self.pumps.add(pump)
            pump.start()

    def forget(self, pump):
        with self.lock:
            self.pumps.discard(pump)

    def connections(self):
        with self.lock:
            return len(self.pumps)

    def blackhole(self):
        """Stop forwarding in both directions; sockets stay open."""
        self.wake.clear()
        self.blackholed = True

    def heal(self):
        """Forward again; drop the connections accepted while blackholed."""
        with self.lock:
            held, self.held = self.held, []
        for s in held:
            _close(s)
        self.blackholed = False
        self.wake.set()

    def close(self):
        self.closed = True
        self.heal()
        for sock, _ in self.listeners:
            sock.close()
        for t in self.threads:
            t.join(timeout=2)
        with self.lock:
            pumps = list(self.pumps)
        for p in pumps:
            p.join(timeout=2)
