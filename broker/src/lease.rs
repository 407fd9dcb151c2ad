//! The master's lease: permission to confirm work (send receipts), valid
//! until a deadline that each answer from ZooKeeper pushes back.
//!
//! ZooKeeper expires a session no sooner than its timeout after the last
//! request the server got; a request sent at `t` that was answered proves
//! the session alive until at least `t + timeout`. The master counts its
//! lease from the send time and keeps a margin, so it stops confirming
//! before its session can expire and a successor can be elected — even
//! when the whole process was frozen (SIGSTOP) and wakes up late: the
//! monotonic clock kept running.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Lease {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: Instant,
    /// Nanoseconds after `base` until which the lease holds; 0: not held.
    until: AtomicU64,
}

impl Default for Lease {
    fn default() -> Self {
        Self::new()
    }
}

impl Lease {
    /// A lease not held yet.
    pub fn new() -> Self {
        Lease {
            inner: Arc::new(Inner {
                base: Instant::now(),
                until: AtomicU64::new(0),
            }),
        }
    }

    pub fn valid(&self) -> bool {
        let now = self.inner.base.elapsed().as_nanos() as u64;
        now < self.inner.until.load(Ordering::Acquire)
    }

    /// How long the lease still holds.
    pub fn remaining(&self) -> Duration {
        let now = self.inner.base.elapsed().as_nanos() as u64;
        Duration::from_nanos(self.inner.until.load(Ordering::Acquire).saturating_sub(now))
    }

    /// Extends the lease to `until` (never shortens it).
    pub fn extend_to(&self, until: Instant) {
        let at = until.saturating_duration_since(self.inner.base).as_nanos() as u64;
        self.inner.until.fetch_max(at, Ordering::AcqRel);
    }

    /// Gives the lease up at once.
    pub fn revoke(&self) {
        self.inner.until.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_holds_until_its_deadline_and_can_be_revoked() {
        let lease = Lease::new();
        assert!(!lease.valid());
        lease.extend_to(Instant::now() + Duration::from_secs(60));
        assert!(lease.valid());
        lease.extend_to(Instant::now());
        assert!(lease.valid(), "extending never shortens");
        lease.revoke();
        assert!(!lease.valid());
        lease.extend_to(Instant::now() - Duration::from_millis(1));
        assert!(!lease.valid());
    }
}
