//! What this node is to clients right now, and the STOMP listener that
//! acts on it: the master serves; every other node answers CONNECT with
//! an ERROR frame that names the master, then closes.

use crate::connection::{self, ConnectionContext};
use crate::election::records::MasterRecord;
use ferromq_stomp::{Command, Frame, Limits};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, warn};

#[derive(Clone)]
pub enum Role {
    /// No master is known, or this node is elected but not serving yet.
    NoMaster,
    Replica {
        master: MasterRecord,
    },
    Serving {
        ctx: ConnectionContext,
        /// Set to drain connections gracefully (SIGTERM).
        drain: watch::Receiver<bool>,
        epoch: u64,
        client: String,
    },
}

impl Role {
    pub fn name(&self) -> &'static str {
        match self {
            Role::NoMaster => "candidate",
            Role::Replica { .. } => "replica",
            Role::Serving { .. } => "master",
        }
    }

    fn epoch(&self) -> Option<u64> {
        match self {
            Role::Serving { epoch, .. } => Some(*epoch),
            _ => None,
        }
    }

    /// The ERROR frame a client gets from a node that does not serve.
    fn refusal(&self) -> Frame {
        let f = Frame::new(Command::Error);
        match self {
            Role::Replica { master } => f
                .header(
                    "message",
                    format!(
                        "this broker is a replica; the master is {} at {}",
                        master.id, master.client
                    ),
                )
                .header("master", master.client.clone()),
            _ => f.header("message", "no master is elected yet; try again shortly"),
        }
    }
}

/// Accepts STOMP connections until `stop` is set. Connections of a
/// mastership end with it: when the node stops serving they are closed.
pub async fn accept(
    listener: TcpListener,
    mut role: watch::Receiver<Role>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let mut served = JoinSet::new();
    let mut refused = JoinSet::new();
    let mut serving_epoch = None;
    let mut next_conn = 1;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            changed = role.changed() => {
                if changed.is_err() {
                    break;
                }
                let now = role.borrow().epoch();
                if serving_epoch.is_some() && now != serving_epoch {
                    info!(connections = served.len(), "no longer serving: closing client connections");
                    served.abort_all();
                }
                serving_epoch = now;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let current = role.borrow().clone();
                    match current {
                        Role::Serving { ctx, drain, epoch, .. } => {
                            serving_epoch = Some(epoch);
                            served.spawn(connection::serve(stream, next_conn, ctx, drain));
                            next_conn += 1;
                        }
                        other => {
                            refused.spawn(connection::refuse(stream, limits, other.refusal()));
                        }
                    }
                }
                Err(e) => warn!(error = %e, "accept failed"),
            },
            Some(_) = served.join_next(), if !served.is_empty() => {}
            Some(_) = refused.join_next(), if !refused.is_empty() => {}
        }
    }
    served.shutdown().await;
    refused.shutdown().await;
}
