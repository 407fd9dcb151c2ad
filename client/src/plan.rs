//! Which address to try next, and how long to wait between rounds.
//!
//! Pure logic, so that the order of attempts (including the jump to a
//! master a replica named) is unit tested without any broker.

use crate::url::{Attempts, FailoverOptions};
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// The wait after a round in which a broker answered "no master yet": the
/// cluster is up and electing, which takes a fraction of a second once
/// ZooKeeper has expired the old master, so the client polls at this pace
/// instead of backing off into seconds (bounded by the URL's
/// `initialReconnectDelay` and `maxReconnectDelay`).
pub(crate) const ELECTION_POLL: Duration = Duration::from_millis(100);

/// What the connecting loop should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Try this `host:port`.
    Try(String),
    /// A round failed: wait this long, then ask again.
    Wait(Duration),
    /// Every allowed round failed.
    GiveUp,
}

/// One search for a broker that will serve: rounds over the address list,
/// each address at most once per round, with a named master tried first.
#[derive(Debug)]
pub(crate) struct Plan {
    addresses: Vec<String>,
    options: FailoverOptions,
    /// Rounds allowed in all; `None` for no limit.
    max_rounds: Option<u32>,
    failed_rounds: u32,
    /// Failed rounds in a row in which no broker answered: the backoff's
    /// exponent.
    silent_rounds: u32,
    /// A broker answered (refused) in this round.
    answered: bool,
    queue: VecDeque<String>,
    tried: HashSet<String>,
    in_round: bool,
    seed: u64,
}

impl Plan {
    /// The search for the first connection: one round, then as many more
    /// as `startupMaxReconnectAttempts` (or `maxReconnectAttempts`) allows.
    pub fn startup(addresses: &[String], options: &FailoverOptions) -> Plan {
        let limit = options
            .startup_max_reconnect_attempts
            .unwrap_or(options.max_reconnect_attempts);
        let max_rounds = match limit {
            Attempts::Forever => None,
            Attempts::Limited(n) => Some(n.saturating_add(1)),
        };
        Plan::new(addresses, options, max_rounds)
    }

    /// The search after a lost connection: `maxReconnectAttempts` rounds,
    /// none at all when it is 0.
    pub fn reconnect(addresses: &[String], options: &FailoverOptions) -> Plan {
        let max_rounds = match options.max_reconnect_attempts {
            Attempts::Forever => None,
            Attempts::Limited(n) => Some(n),
        };
        Plan::new(addresses, options, max_rounds)
    }

    fn new(addresses: &[String], options: &FailoverOptions, max_rounds: Option<u32>) -> Plan {
        Plan {
            addresses: addresses.to_vec(),
            options: options.clone(),
            max_rounds,
            failed_rounds: 0,
            silent_rounds: 0,
            answered: false,
            queue: VecDeque::new(),
            tried: HashSet::new(),
            in_round: false,
            seed: RandomState::new().hash_one(addresses.len()),
        }
    }

    /// The next thing to do.
    pub fn next(&mut self) -> Step {
        loop {
            if !self.in_round {
                if self.max_rounds.is_some_and(|m| self.failed_rounds >= m) {
                    return Step::GiveUp;
                }
                self.start_round();
            }
            match self.queue.pop_front() {
                Some(addr) if self.tried.insert(addr.clone()) => return Step::Try(addr),
                Some(_) => continue,
                None => {
                    self.in_round = false;
                    self.failed_rounds += 1;
                    self.silent_rounds = if self.answered {
                        0
                    } else {
                        self.silent_rounds + 1
                    };
                    if self.max_rounds.is_some_and(|m| self.failed_rounds >= m) {
                        return Step::GiveUp;
                    }
                    return Step::Wait(self.delay());
                }
            }
        }
    }

    /// A replica named the master: try it next unless this round already
    /// did (two nodes naming each other must not loop), then carry on with
    /// the list.
    pub fn redirect(&mut self, master: &str) {
        if !self.tried.contains(master) {
            self.queue.push_front(master.to_owned());
        }
    }

    /// A broker answered this round, refusing: it is alive, so the next
    /// round comes soon (see [`ELECTION_POLL`]).
    pub fn answered(&mut self) {
        self.answered = true;
    }

    /// The wait after a failed round: [`ELECTION_POLL`] when a broker
    /// answered, else exponential in the silent rounds in a row.
    fn delay(&self) -> Duration {
        let o = &self.options;
        if self.answered {
            return ELECTION_POLL
                .max(o.initial_reconnect_delay)
                .min(o.max_reconnect_delay);
        }
        if !o.use_exponential_back_off {
            return o.initial_reconnect_delay.min(o.max_reconnect_delay);
        }
        let exponent = i32::try_from(self.silent_rounds.saturating_sub(1)).unwrap_or(i32::MAX);
        let ms =
            o.initial_reconnect_delay.as_millis() as f64 * o.back_off_multiplier.powi(exponent);
        let max = o.max_reconnect_delay.as_millis() as f64;
        Duration::from_millis(ms.min(max) as u64)
    }

    fn start_round(&mut self) {
        self.in_round = true;
        self.answered = false;
        self.tried.clear();
        let mut order = self.addresses.clone();
        if self.options.randomize {
            // Fisher-Yates with xorshift64*: spreading clients needs no
            // cryptographic randomness.
            for i in (1..order.len()).rev() {
                self.seed ^= self.seed << 13;
                self.seed ^= self.seed >> 7;
                self.seed ^= self.seed << 17;
                let j = (self.seed.wrapping_mul(0x2545_f491_4f6c_dd1d) % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
        }
        self.queue = order.into();
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
