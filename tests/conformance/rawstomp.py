"""STOMP over a plain socket, for what stomp.py cannot express: bad input,
exact heart-beat control and on-the-wire header escaping."""

import socket
import time

from stompclient import TIMEOUT

_UNESCAPE = {"1.1": {"n": "\n", "c": ":", "\\": "\\"},
             "1.2": {"n": "\n", "c": ":", "\\": "\\", "r": "\r"}}


def unescape(s, version):
    table = _UNESCAPE.get(version)
    if not table:
        return s
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in table:
            out.append(table[s[i + 1]])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


class RawFrame:
    def __init__(self, command, headers, body, raw_head):
        self.command, self.headers, self.body, self.raw_head = command, headers, body, raw_head

    def __repr__(self):
        return f"RawFrame({self.command!r}, {self.headers!r}, {self.body[:200]!r})"


class Closed(Exception):
    pass


def encode_frame(command, headers=(), body=b"", content_length=True):
    if isinstance(headers, dict):
        headers = list(headers.items())
    if isinstance(body, str):
        body = body.encode()
    headers = list(headers)
    if content_length and body:
        headers.append(("content-length", str(len(body))))
    head = command + "\n" + "".join(f"{k}:{v}\n" for k, v in headers) + "\n"
    return head.encode() + body + b"\x00"


class RawClient:
    def __init__(self, port, host="127.0.0.1", version="1.2"):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.version = version  # for unescaping received headers
        self.buf = b""
        self.heartbeats = 0  # EOLs received between frames
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, command, headers=(), body=b"", content_length=True):
        self.send_raw(encode_frame(command, headers, body, content_length))

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            raise Closed
        self.buf += data

    def _parse(self):
        """Return a frame from the buffer, or None if it is incomplete."""
        while self.buf[:1] == b"\n" or self.buf[:2] == b"\r\n":
            self.heartbeats += 1
            self.buf = self.buf[1:] if self.buf[:1] == b"\n" else self.buf[2:]
        end = self.buf.find(b"\n\n")
        end_crlf = self.buf.find(b"\r\n\r\n")
        if end < 0 and end_crlf < 0:
            return None
        if end < 0 or (0 <= end_crlf < end):
            head_end, body_start = end_crlf, end_crlf + 4
        else:
            head_end, body_start = end, end + 2
        head = self.buf[:head_end].decode("utf-8")
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in head.split("\n")]
        command, headers = lines[0], {}
        version = None if command == "CONNECTED" else self.version
        for line in lines[1:]:
            k, _, v = line.partition(":")
            k, v = unescape(k, version), unescape(v, version)
            headers.setdefault(k, v)  # the first occurrence wins
        if "content-length" in headers:
            n = int(headers["content-length"])
            if len(self.buf) < body_start + n + 1:
                return None
            body = self.buf[body_start:body_start + n]
            assert self.buf[body_start + n:body_start + n + 1] == b"\x00", "no NUL after body"
            consumed = body_start + n + 1
        else:
            nul = self.buf.find(b"\x00", body_start)
            if nul < 0:
                return None
            body, consumed = self.buf[body_start:nul], nul + 1
        self.buf = self.buf[consumed:]
        return RawFrame(command, headers, body, head)

    def recv_frame(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            frame = self._parse()
            if frame is not None:
                return frame
            self._fill(deadline)

    def connect(self, version="1.2", heart_beat=None, command="CONNECT", **extra):
        headers = [("accept-version", version), ("host", "localhost"),
                   ("login", "guest"), ("passcode", "guest")]
        if heart_beat is not None:
            headers.append(("heart-beat", heart_beat))
        headers += list(extra.items())
        self.send_frame(command, headers)
        frame = self.recv_frame()
        assert frame.command == "CONNECTED", frame
        self.version = frame.headers.get("version", "1.0")
        return frame

    def expect_error_and_close(self, timeout=TIMEOUT):
        """The next frame must be an ERROR; afterwards the broker must close the socket."""
        frame = self.recv_frame(timeout)
        assert frame.command == "ERROR", f"expected ERROR, got {frame}"
        assert self.wait_closed(timeout), "broker did not close the connection after ERROR"
        return frame

    def wait_closed(self, timeout=TIMEOUT):
        """True once the peer has closed (frames received meanwhile are discarded)."""
        deadline = time.monotonic() + timeout
        while True:
            self.buf = b""
            try:
                self._fill(deadline)
            except Closed:
                return True
            except TimeoutError:
                return False

    def wait_heartbeats(self, n, timeout=TIMEOUT):
        """Read (discarding frames) until n more EOL heart-beats have arrived."""
        target = self.heartbeats + n
        deadline = time.monotonic() + timeout
        while self.heartbeats < target:
            while self._parse() is not None:
                pass
            if self.heartbeats >= target:
                break
            try:
                self._fill(deadline)
            except TimeoutError:
                raise AssertionError(f"{n} heart-beats not received within {timeout}s "
                                     f"(got {n - (target - self.heartbeats)})")
        return self.heartbeats

    def count_heartbeats(self, duration):
        """Read for `duration` seconds; return how many EOL heart-beats arrived."""
        before = self.heartbeats
        deadline = time.monotonic() + duration
        while True:
            while self._parse() is not None:
                pass
            try:
                self._fill(deadline)
            except TimeoutError:
                return self.heartbeats - before
