//! Starts the real `ferromq-broker` binary on free loopback ports with a
//! temporary data directory, and speaks raw STOMP to it.

use ferromq_stomp::{Command, Frame, Limits, Parsed, Version, encode, parse};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub struct Broker {
    pub child: Child,
    pub stomp: SocketAddr,
    pub admin: SocketAddr,
    pub _dir: tempfile::TempDir,
}

fn free_port() -> std::io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

impl Broker {
    pub fn start() -> Result<Broker, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let (stomp, admin) = (free_port()?, free_port()?);
        let child = Process::new(env!("CARGO_BIN_EXE_ferromq-broker"))
            .args(["--data-dir", &dir.path().to_string_lossy()])
            .args([
                "--listen",
                &stomp.to_string(),
                "--admin-listen",
                &admin.to_string(),
            ])
            .args(["--node-id", "it", "--log", "warn"])
            .stdout(Stdio::null())
            .spawn()?;
        let broker = Broker {
            child,
            stomp,
            admin,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if broker
                .http_get("/readyz")
                .is_ok_and(|r| r.starts_with("HTTP/1.1 200"))
            {
                return Ok(broker);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("broker did not become ready in 30 s".into())
    }

    pub fn http_get(&self, path: &str) -> std::io::Result<String> {
        let mut s = TcpStream::connect(self.admin)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    }

    /// Resident memory of the broker process, in bytes.
    pub fn rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal blocking STOMP 1.2 client.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Result<Client, Box<dyn std::error::Error>> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut c = Client {
            stream,
            buf: Vec::new(),
        };
        c.send(
            &Frame::new(Command::Connect)
                .header("accept-version", "1.2")
                .header("host", "x"),
        )?;
        let f = c.recv()?;
        if f.command != Command::Connected {
            return Err(format!("expected CONNECTED, got {f:?}").into());
        }
        Ok(c)
    }

    pub fn send(&mut self, frame: &Frame) -> std::io::Result<()> {
        let mut out = Vec::new();
        encode(frame, Version::V1_2, &mut out);
        self.stream.write_all(&out)
    }

    /// Writes many frames at once.
    pub fn send_all(&mut self, frames: &[Frame]) -> std::io::Result<()> {
        let mut out = Vec::new();
        for f in frames {
            encode(f, Version::V1_2, &mut out);
        }
        self.stream.write_all(&out)
    }

    pub fn recv(&mut self) -> Result<Frame, Box<dyn std::error::Error>> {
        loop {
            match parse(&self.buf, Version::V1_2, &Limits::default())? {
                Parsed::Frame(f, n) => {
                    self.buf.drain(..n);
                    return Ok(f);
                }
                Parsed::Heartbeat(n) => {
                    self.buf.drain(..n);
                }
                Parsed::Incomplete => {
                    let mut chunk = [0u8; 64 * 1024];
                    let n = self.stream.read(&mut chunk)?;
                    if n == 0 {
                        return Err("connection closed".into());
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
    }
}
