//! Which address to try next, and how long to wait between rounds.
//!
//! Pure logic, so that the order of attempts (including the jump to a
//! master a replica named) is unit tested without any broker.

use crate::url::{Attempts, FailoverOptions};
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

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

    /// The wait after `failed_rounds` failed rounds.
    fn delay(&self) -> Duration {
        let o = &self.options;
        if !o.use_exponential_back_off {
            return o.initial_reconnect_delay.min(o.max_reconnect_delay);
        }
        let exponent = i32::try_from(self.failed_rounds.saturating_sub(1)).unwrap_or(i32::MAX);
        let ms =
            o.initial_reconnect_delay.as_millis() as f64 * o.back_off_multiplier.powi(exponent);
        let max = o.max_reconnect_delay.as_millis() as f64;
        Duration::from_millis(ms.min(max) as u64)
    }

    fn start_round(&mut self) {
        self.in_round = true;
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
mod tests {
    use super::*;

    fn opts(randomize: bool) -> FailoverOptions {
        FailoverOptions {
            randomize,
            initial_reconnect_delay: Duration::from_millis(10),
            max_reconnect_delay: Duration::from_millis(50),
            ..FailoverOptions::default()
        }
    }

    fn addrs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn try_(a: &str) -> Step {
        Step::Try(a.to_owned())
    }

    #[test]
    fn rounds_in_order_with_exponential_backoff_capped() {
        let mut p = Plan::reconnect(&addrs(&["a:1", "b:1"]), &opts(false));
        let ms = |n| Step::Wait(Duration::from_millis(n));
        let steps: Vec<Step> = (0..12).map(|_| p.next()).collect();
        assert_eq!(
            steps,
            [
                try_("a:1"),
                try_("b:1"),
                ms(10),
                try_("a:1"),
                try_("b:1"),
                ms(20),
                try_("a:1"),
                try_("b:1"),
                ms(40),
                try_("a:1"),
                try_("b:1"),
                ms(50),
            ]
        );
    }

    #[test]
    fn a_replica_sends_us_to_the_master_first_then_the_list_continues() {
        let mut p = Plan::reconnect(&addrs(&["a:1", "b:1", "c:1"]), &opts(false));
        assert_eq!(p.next(), try_("a:1"));
        // a is a replica and names c, which is not even in the URL's order.
        p.redirect("c:1");
        assert_eq!(p.next(), try_("c:1"));
        assert_eq!(p.next(), try_("b:1"));
        assert!(matches!(p.next(), Step::Wait(_)));
    }

    #[test]
    fn a_master_outside_the_list_is_tried_and_redirect_loops_end() {
        let mut p = Plan::reconnect(&addrs(&["a:1", "b:1"]), &opts(false));
        assert_eq!(p.next(), try_("a:1"));
        p.redirect("m:9");
        assert_eq!(p.next(), try_("m:9"));
        // m names a (stale view): already tried this round, so skip it.
        p.redirect("a:1");
        assert_eq!(p.next(), try_("b:1"));
        p.redirect("b:1");
        assert!(matches!(p.next(), Step::Wait(_)));
        // The next round starts over from the list.
        assert_eq!(p.next(), try_("a:1"));
    }

    #[test]
    fn attempt_limits() {
        let mut o = opts(false);
        o.max_reconnect_attempts = Attempts::Limited(0);
        let a = addrs(&["a:1"]);
        assert_eq!(Plan::reconnect(&a, &o).next(), Step::GiveUp);
        // Startup always makes one round, then the limit's extra rounds.
        let mut p = Plan::startup(&a, &o);
        assert_eq!(p.next(), try_("a:1"));
        assert_eq!(p.next(), Step::GiveUp);
        o.startup_max_reconnect_attempts = Some(Attempts::Limited(1));
        let mut p = Plan::startup(&a, &o);
        assert_eq!(p.next(), try_("a:1"));
        assert!(matches!(p.next(), Step::Wait(_)));
        assert_eq!(p.next(), try_("a:1"));
        assert_eq!(p.next(), Step::GiveUp);
    }

    #[test]
    fn flat_backoff_and_randomized_rounds_cover_every_address() {
        let mut o = opts(true);
        o.use_exponential_back_off = false;
        let a = addrs(&["a:1", "b:1", "c:1", "d:1"]);
        let mut p = Plan::reconnect(&a, &o);
        for _ in 0..5 {
            let mut seen: Vec<String> = (0..4)
                .map(|_| match p.next() {
                    Step::Try(x) => x,
                    other => panic!("expected an address, got {other:?}"),
                })
                .collect();
            seen.sort();
            assert_eq!(seen, a);
            assert_eq!(p.next(), Step::Wait(Duration::from_millis(10)));
        }
    }
}
