//! Client connections: the reading half parses frames and applies the
//! session rules; the writing half (`writer`) sends what the router
//! returns.

mod session;
mod writer;

pub use session::SessionConfig;

use crate::router::{ConnId, Outbound, Request};
use bytes::BytesMut;
use ferromq_stomp::{Command, Frame, Limits, Parsed, Version, encode, parse};
use session::{Agreed, Refusal, Session};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tracing::{Instrument, debug, info_span};
use writer::Writer;

/// How long a client has to send CONNECT.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a closing connection waits for its last frames to be written.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a node that does not serve waits for a client's CONNECT
/// before it answers with its ERROR anyway.
const REFUSE_TIMEOUT: Duration = Duration::from_secs(5);

/// What every connection shares.
#[derive(Debug, Clone)]
pub struct ConnectionContext {
    pub router: mpsc::Sender<Request>,
    pub limits: Limits,
    pub session: SessionConfig,
    /// In a cluster, the master's lease: nothing is written to a client
    /// once it lapsed, so no receipt leaves a master that may have been
    /// replaced.
    pub lease: Option<crate::lease::Lease>,
}

/// Serves one client until it leaves, fails, or the broker shuts down.
pub async fn serve(
    stream: TcpStream,
    conn: ConnId,
    ctx: ConnectionContext,
    shutdown: watch::Receiver<bool>,
) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let span = info_span!("conn", conn, peer);
    async move {
        if let Err(e) = run(rd, wr, conn, &ctx, shutdown).await {
            debug!(error = %e, "connection ended");
        }
    }
    .instrument(span)
    .await;
}

async fn run<R, W>(
    mut rd: R,
    mut wr: W,
    conn: ConnId,
    ctx: &ConnectionContext,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let mut buf = BytesMut::with_capacity(16 * 1024);
    // Before CONNECT the reader answers by itself.
    let first = tokio::time::timeout(
        CONNECT_TIMEOUT,
        next_frame(&mut rd, &mut buf, Version::V1_0, &ctx.limits),
    );
    let frame = match first.await {
        Ok(Ok(Some(frame))) => frame,
        Ok(Ok(None)) | Err(_) => return Ok(()),
        Ok(Err(refusal)) => return refuse_and_close(&mut wr, refusal, Version::V1_0).await,
    };
    let agreed = match session::connect(&frame, &ctx.session) {
        Ok(a) => a,
        Err(refusal) => return refuse_and_close(&mut wr, refusal, Version::V1_0).await,
    };
    let mut out = Vec::new();
    encode(
        &connected(conn, &agreed, &ctx.session),
        agreed.version,
        &mut out,
    );
    wr.write_all(&out).await?;

    let (outbox_tx, outbox_rx) = mpsc::unbounded_channel();
    let (closed_tx, mut closed) = watch::channel(false);
    let register = Request::Connect {
        conn,
        outbox: outbox_tx.clone(),
    };
    if ctx.router.send(register).await.is_err() {
        return Ok(());
    }
    let writer = Writer {
        socket: wr,
        conn,
        version: agreed.version,
        heart_beat_ms: agreed.send_every,
        outbox: outbox_rx,
        router: ctx.router.clone(),
        closed: closed_tx,
        lease: ctx.lease.clone(),
    };
    tokio::spawn(writer.run());

    let mut session = Session::new(conn, agreed.version, ctx.session);
    // A client that promised heart-beats is dropped after twice the
    // interval of silence.
    let silence = (agreed.expect_every > 0).then(|| Duration::from_millis(agreed.expect_every * 2));
    // Frames the client sent right behind CONNECT are already buffered.
    let mut reading = match drain_frames(&mut buf, &mut session, agreed.version, ctx).await {
        Ok(more) => more,
        Err(refusal) => {
            let _ = outbox_tx.send(Outbound::Error(refusal.0));
            false
        }
    };
    while reading {
        tokio::select! {
            _ = closed.changed() => break,
            _ = shutdown.changed() => {
                let _ = ctx.router.send(Request::Receipt { conn, receipt: None, close: true }).await;
                reading = false;
            }
            read = read_with_deadline(&mut rd, &mut buf, silence) => match read {
                ReadOutcome::Data => {
                    match drain_frames(&mut buf, &mut session, agreed.version, ctx).await {
                        Ok(more) => reading = more,
                        Err(refusal) => {
                            let _ = outbox_tx.send(Outbound::Error(refusal.0));
                            reading = false;
                        }
                    }
                }
                ReadOutcome::Closed => {
                    // The client is gone: nothing left to write, so the
                    // router may take its messages back at once.
                    let _ = ctx.router.send(Request::Disconnected { conn }).await;
                    return Ok(());
                }
                ReadOutcome::Silent(ms) => {
                    let message = format!("no heart-beat received within {ms} ms");
                    let _ = outbox_tx.send(Outbound::Error(crate::router::error_frame(&message, None)));
                    reading = false;
                }
            },
        }
    }
    drop(outbox_tx);
    // Let the writer finish what is queued (receipts, an ERROR) first.
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, closed.wait_for(|c| *c)).await;
    let _ = ctx.router.send(Request::Disconnected { conn }).await;
    Ok(())
}

enum ReadOutcome {
    Data,
    Closed,
    Silent(u128),
}

async fn read_with_deadline<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    silence: Option<Duration>,
) -> ReadOutcome {
    let read = rd.read_buf(buf);
    let result = match silence {
        Some(limit) => match tokio::time::timeout(limit, read).await {
            Ok(r) => r,
            Err(_) => return ReadOutcome::Silent(limit.as_millis() / 2),
        },
        None => read.await,
    };
    match result {
        Ok(0) | Err(_) => ReadOutcome::Closed,
        Ok(_) => ReadOutcome::Data,
    }
}

/// Takes the next whole frame off the front of `buf`, skipping
/// heart-beats; `None` until more bytes arrive.
fn take_frame(
    buf: &mut BytesMut,
    version: Version,
    limits: &Limits,
) -> Result<Option<Frame>, Refusal> {
    loop {
        match parse(buf, version, limits) {
            Ok(Parsed::Frame(f, n)) => {
                let _ = buf.split_to(n);
                return Ok(Some(f));
            }
            Ok(Parsed::Heartbeat(n)) => {
                let _ = buf.split_to(n);
            }
            Ok(Parsed::Incomplete) => return Ok(None),
            Err(e) => return Err(Refusal(crate::router::error_frame(&e.to_string(), None))),
        }
    }
}

/// Handles every whole frame in `buf`; returns whether to keep reading.
async fn drain_frames(
    buf: &mut BytesMut,
    session: &mut Session,
    version: Version,
    ctx: &ConnectionContext,
) -> Result<bool, Refusal> {
    while let Some(frame) = take_frame(buf, version, &ctx.limits)? {
        let disconnect = frame.command == Command::Disconnect;
        if let Some(request) = session.on_frame(frame)?
            && ctx.router.send(request).await.is_err()
        {
            return Ok(false);
        }
        if disconnect {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Reads until one frame is whole; `None` at EOF.
async fn next_frame<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    version: Version,
    limits: &Limits,
) -> Result<Option<Frame>, Refusal> {
    loop {
        if let Some(frame) = take_frame(buf, version, limits)? {
            return Ok(Some(frame));
        }
        match rd.read_buf(buf).await {
            Ok(0) | Err(_) => return Ok(None),
            Ok(_) => {}
        }
    }
}

/// Answers a client this node does not serve (a replica, or a node with
/// no master yet): reads its CONNECT, replies with `error`, closes.
pub async fn refuse(stream: TcpStream, limits: Limits, error: Frame) {
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = BytesMut::with_capacity(4096);
    let first = tokio::time::timeout(
        REFUSE_TIMEOUT,
        next_frame(&mut rd, &mut buf, Version::V1_0, &limits),
    )
    .await;
    let version = match first {
        Ok(Ok(Some(frame))) => {
            Version::negotiate(frame.headers.get("accept-version")).unwrap_or(Version::V1_0)
        }
        _ => Version::V1_0,
    };
    let _ = refuse_and_close(&mut wr, Refusal(error), version).await;
}

async fn refuse_and_close<W: AsyncWrite + Unpin>(
    wr: &mut W,
    refusal: Refusal,
    version: Version,
) -> std::io::Result<()> {
    let mut out = Vec::new();
    encode(&refusal.0, version, &mut out);
    wr.write_all(&out).await?;
    wr.shutdown().await
}

fn connected(conn: ConnId, agreed: &Agreed, config: &SessionConfig) -> Frame {
    let mut f = Frame::new(Command::Connected)
        .header("version", agreed.version.as_str())
        .header("server", concat!("ferromq/", env!("CARGO_PKG_VERSION")))
        .header("session", format!("ferromq-{conn}"));
    if agreed.version > Version::V1_0 {
        let (sx, sy) = config.heart_beat;
        f = f.header("heart-beat", format!("{sx},{sy}"));
    }
    f
}
