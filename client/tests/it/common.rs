//! Runs the real `ferromq-broker` binary on loopback for the client's
//! tests: free ports, a temporary data directory that survives a kill -9
//! so the same node can come back, and stop by PID.

use ferromq_client::{AckMode, Client, ConnectOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The broker binary: `FERROMQ_BROKER_BIN`, else the debug builds of the
/// usual target directories, else the one next to this test executable.
pub fn broker_bin() -> Option<PathBuf> {
    let from_env = std::env::var_os("FERROMQ_BROKER_BIN").map(PathBuf::from);
    let in_target = |dir: PathBuf| dir.join("debug").join("ferromq-broker");
    let candidates = [
        from_env,
        std::env::var_os("CARGO_TARGET_DIR").map(|d| in_target(d.into())),
        std::env::var_os("HOME").map(|h| in_target(PathBuf::from(h).join(".cache/ferromq/target"))),
        // target/debug/deps/<test> -> target/debug/ferromq-broker
        std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("ferromq-broker"))),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// The broker binary, or `None` after saying why the test is skipped;
/// with `FERROMQ_REQUIRE_BROKER=1` a missing binary fails the test.
pub fn broker_or_skip() -> Option<PathBuf> {
    let bin = broker_bin();
    if bin.is_none() {
        let why = "ferromq-broker not found (set FERROMQ_BROKER_BIN or build it)";
        assert!(
            std::env::var("FERROMQ_REQUIRE_BROKER").as_deref() != Ok("1"),
            "{why}, and FERROMQ_REQUIRE_BROKER=1"
        );
        eprintln!("SKIPPED: {why}");
    }
    bin
}

fn free_port() -> std::io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

pub struct Broker {
    bin: PathBuf,
    id: String,
    extra: Vec<String>,
    child: Option<Child>,
    pub stomp: SocketAddr,
    pub admin: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl Broker {
    pub fn start(bin: &std::path::Path, id: &str) -> Result<Broker, Box<dyn std::error::Error>> {
        Broker::start_with(bin, id, &[])
    }

    /// Starts a broker with extra flags, e.g. `--heart-beat 200,200`.
    pub fn start_with(
        bin: &std::path::Path,
        id: &str,
        extra: &[&str],
    ) -> Result<Broker, Box<dyn std::error::Error>> {
        let mut broker = Broker {
            bin: bin.to_owned(),
            id: id.to_owned(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
            stomp: free_port()?,
            admin: free_port()?,
            dir: tempfile::tempdir()?,
        };
        // A port found free can be taken by someone's outgoing connection
        // before the broker binds it: then try other ports.
        for _ in 0..3 {
            match broker.restart() {
                Err(e) if e.to_string().contains("exited") => {
                    (broker.stomp, broker.admin) = (free_port()?, free_port()?);
                }
                done => return done.map(|()| broker),
            }
        }
        broker.restart().map(|()| broker)
    }

    /// Starts the process (again) on the same ports and data directory.
    pub fn restart(&mut self) -> TestResult {
        self.kill();
        let child = Command::new(&self.bin)
            .args(["--data-dir", &self.dir.path().to_string_lossy()])
            .args(["--listen", &self.stomp.to_string()])
            .args(["--admin-listen", &self.admin.to_string()])
            .args(["--node-id", &self.id, "--log", "warn"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!("broker {} exited during startup: {status}", self.id).into());
            }
            if self
                .http_get("/readyz")
                .is_ok_and(|r| r.starts_with("HTTP/1.1 200"))
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("broker {} did not become ready in 30 s", self.id).into())
    }

    /// kill -9 by PID (also ends a stopped process), and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal (`-STOP`, `-CONT`) to the process by PID.
    pub fn signal(&self, signal: &str) -> TestResult {
        let pid = self.child.as_ref().ok_or("broker not running")?.id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()?;
        if !status.success() {
            return Err(format!("kill {signal} {pid} failed").into());
        }
        Ok(())
    }

    pub fn url(&self) -> String {
        format!("tcp://{}", self.stomp)
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
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Takes every message from a queue (acknowledging each) until none comes
/// for a second; returns the bodies.
pub async fn drain(url: &str, queue: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let client = Client::connect(url, ConnectOptions::default()).await?;
    let mut sub = client.subscribe(queue, AckMode::ClientIndividual).await?;
    let mut bodies = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(1), sub.next()).await {
        m.ack().await?;
        bodies.push(String::from_utf8_lossy(&m.body).into_owned());
        assert!(bodies.len() < 100_000, "queue {queue} does not drain");
    }
    drop(sub);
    client.disconnect().await?;
    Ok(bodies)
}

/// Waits (bounded) until `client` is connected to `addr`.
pub async fn wait_connected(client: &Client, addr: SocketAddr) -> TestResult {
    let want = addr.to_string();
    for _ in 0..200 {
        if client.connected_to().as_deref() == Some(want.as_str()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!(
        "client not connected to {want} after 10 s: {:?}",
        client.connected_to()
    )
    .into())
}
