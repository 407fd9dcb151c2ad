"""A real three-server ZooKeeper ensemble from Debian's `zookeeper` package.

The brokers' election depends on real ZooKeeper behaviour (session expiry,
ephemeral nodes, leader loss), so the harness runs the packaged
QuorumPeerMain, one JVM per server, each with its own directory, all on
127.0.0.1. tickTime is 200 ms so that a 2 s session timeout is negotiable
(min 2*tick, max set to 10 s) and elections are quick. Servers keep their
ports and data across kill/start, so a restarted server rejoins as itself.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from procs import TIMEOUT, free_port, poll, spawn, stop, tail

ZK_HOME = Path(os.environ.get("FERROMQ_ZK_HOME", "/usr/share/zookeeper"))
JAVA_DIR = Path("/usr/share/java")
# zookeeper.jar's manifest Class-Path names its dependencies in /usr/share/java
# (netty, jackson, jetty, slf4j-api, ...); slf4j-simple makes it log to stderr.
CLASSPATH_JARS = ["zookeeper.jar", "zookeeper-jute.jar", "slf4j-simple.jar"]
JAVA = shutil.which("java") or "/usr/bin/java"
JVM_FLAGS = ["-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
             "-Djava.net.preferIPv4Stack=true", "-Dzookeeper.jmx.log4j.disable=true",
             "-Dorg.slf4j.simpleLogger.showDateTime=true",
             "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS"]


def available():
    """(ok, why): are Java and Debian's ZooKeeper jars and zkCli.sh here?"""
    missing = [str(p) for p in [Path(JAVA), ZK_HOME / "bin" / "zkCli.sh",
                                *(JAVA_DIR / j for j in CLASSPATH_JARS)] if not p.exists()]
    if missing:
        return False, f"ZooKeeper not installed (apt-get install zookeeper): missing {missing}"
    return True, ""


def four_letter(port, cmd, host="127.0.0.1", timeout=2.0):
    """Reply to a ZooKeeper four-letter word, or None if the server does not answer."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(cmd.encode())
            chunks = []
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return None


class Server:
    """One QuorumPeerMain process with its own dir, myid and zoo.cfg."""

    def __init__(self, myid, root, client_port, quorum_port, election_port):
        self.myid, self.dir = myid, Path(root) / f"zk{myid}"
        self.client_port, self.quorum_port, self.election_port = (
            client_port, quorum_port, election_port)
        self.proc = None
        self.log = self.dir / "server.log"

    def write_config(self, peers):
        data = self.dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        (data / "myid").write_text(f"{self.myid}\n")
        lines = ["tickTime=200", "initLimit=10", "syncLimit=5", f"dataDir={data}",
                 f"clientPort={self.client_port}", "clientPortAddress=127.0.0.1",
                 "minSessionTimeout=400", "maxSessionTimeout=10000",
                 "admin.enableServer=false", "4lw.commands.whitelist=*",
                 "maxClientCnxns=0", "autopurge.purgeInterval=0"]
        lines += [f"server.{p.myid}=127.0.0.1:{p.quorum_port}:{p.election_port}" for p in peers]
        (self.dir / "zoo.cfg").write_text("\n".join(lines) + "\n")

    def start(self):
        assert not self.alive(), f"zk{self.myid} already running"
        cp = ":".join(str(JAVA_DIR / j) for j in CLASSPATH_JARS)
        argv = [JAVA, *JVM_FLAGS, f"-Dzookeeper.log.dir={self.dir}", "-cp", cp,
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", self.dir / "zoo.cfg"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JVMFLAGS", "JAVA_TOOL"))}
        self.proc = spawn(argv, self.log, env=env, cwd=self.dir)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        stop(self.proc, sig)

    def mode(self):
        """'leader' | 'follower' | 'standalone', or None if not serving."""
        reply = four_letter(self.client_port, "srvr") if self.alive() else None
        m = re.search(r"^Mode: (\w+)", reply or "", re.M)
        return m.group(1) if m else None

    @property
    def address(self):
        return f"127.0.0.1:{self.client_port}"


class Ensemble:
    """Three servers; `kill(i)`, `start(i)`, `restart_all()` take 1-based ids."""

    def __init__(self, root, size=3):
        self.root = Path(root)
        self.servers = [Server(i, self.root, free_port(), free_port(), free_port())
                        for i in range(1, size + 1)]
        for s in self.servers:
            s.write_config(self.servers)

    def __getitem__(self, i):
        return self.servers[i - 1]

    @property
    def connect_string(self):
        return ",".join(s.address for s in self.servers)

    @property
    def client_addresses(self):
        return [("127.0.0.1", s.client_port) for s in self.servers]

    def pids(self):
        return [s.proc.pid for s in self.servers if s.proc is not None]

    # -- lifecycle -----------------------------------------------------------
    def start(self, i=None, timeout=60):
        """Start server i (or all that are down) and wait until the ensemble serves."""
        for s in ([self[i]] if i else self.servers):
            if not s.alive():
                s.start()
        return self.wait_ready(timeout)

    def kill(self, i, sig=signal.SIGKILL):
        self[i].kill(sig)

    def restart_all(self, timeout=60):
        """Kill every server (-9), then start all again on the same data."""
        for s in self.servers:
            s.kill()
        return self.start(timeout=timeout)

    def close(self):
        for s in self.servers:
            s.kill()

    # -- state ---------------------------------------------------------------
    def modes(self):
        return {s.myid: s.mode() for s in self.servers if s.alive()}

    def leader(self):
        ids = [i for i, m in self.modes().items() if m == "leader"]
        return ids[0] if len(ids) == 1 else None

    def wait_ready(self, timeout=60):
        """Every running server is leader or follower, and there is one leader."""
        def ready():
            for s in self.servers:
                if s.proc is not None and s.proc.poll() is not None and s.proc.returncode not in (
                        -signal.SIGKILL, -signal.SIGTERM, 143):
                    raise AssertionError(f"zk{s.myid} exited {s.proc.returncode}:\n{tail(s.log)}")
            modes = self.modes()
            ok = (modes and all(m in ("leader", "follower") for m in modes.values())
                  and list(modes.values()).count("leader") == 1)
            return ok and modes
        try:
            return poll(ready, "a ZooKeeper leader with every running server in the quorum",
                        timeout, interval=0.2)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.log_tails()}") from None

    def log_tails(self, n=40):
        return "\n".join(f"----- zk{s.myid} ({s.log}) -----\n{tail(s.log, n)}" for s in self.servers)

    # -- zkCli.sh, as a ZooKeeper user would inspect the cluster ------------
    def zkcli(self, *args, timeout=TIMEOUT, check=True):
        """Run Debian's zkCli.sh against the ensemble: (rc, stdout, stderr).

        Non-interactive zkCli runs its command without waiting to connect, so
        a dead server picked first from -server fails it with ConnectionLoss:
        give it only the servers that serve, and retry that error (bounded)."""
        serving = [s.address for s in self.servers if s.mode() in ("leader", "follower")]
        argv = [str(ZK_HOME / "bin" / "zkCli.sh"), "-server",
                ",".join(serving) or self.connect_string, *args]
        env = dict(os.environ, ZOO_LOG_DIR=str(self.root), ZOO_LOG4J_PROP="WARN,CONSOLE")
        for _ in range(3):
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=timeout, env=env)
            if "ConnectionLoss" not in r.stdout + r.stderr:
                break
        if check:
            assert r.returncode == 0, f"zkCli {args} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
        return r.returncode, r.stdout, r.stderr

    def zkcli_get(self, path, timeout=TIMEOUT):
        """The data of znode `path` as zkCli.sh prints it (None if there is no such node)."""
        rc, out, err = self.zkcli("get", path, timeout=timeout, check=False)
        if "Node does not exist" in out + err:
            return None
        assert rc == 0, f"zkCli get {path} exited {rc}:\n{out}\n{err}"
        # zkCli prints connection chatter around the data (which may span lines).
        noise = ("Connecting to", "WATCHER::", "WatchedEvent", "SLF4J", "log4j", "JLine")
        data = [ln for ln in out.splitlines() if ln.strip() and not ln.startswith(noise)]
        return "\n".join(data)

    def zkcli_ls(self, path, timeout=TIMEOUT):
        """Children of `path` as zkCli.sh lists them ([] if none, None if no node)."""
        rc, out, err = self.zkcli("ls", path, timeout=timeout, check=False)
        if "Node does not exist" in out + err:
            return None
        assert rc == 0, f"zkCli ls {path} exited {rc}:\n{out}\n{err}"
        listing = [ln for ln in out.splitlines() if ln.startswith("[")]
        assert listing, f"no listing in zkCli output:\n{out}"
        inner = listing[-1].strip()[1:-1]
        return [c.strip() for c in inner.split(",") if c.strip()]
