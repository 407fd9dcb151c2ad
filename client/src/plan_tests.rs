//! The order of attempts and the waits between rounds.

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
fn a_round_a_broker_answered_polls_and_restarts_the_backoff() {
    let mut o = opts(false);
    o.max_reconnect_delay = Duration::from_secs(30);
    let mut p = Plan::reconnect(&addrs(&["a:1", "b:1"]), &o);
    let ms = |n| Step::Wait(Duration::from_millis(n));
    let mut round = |answer: bool| {
        assert_eq!(p.next(), try_("a:1"));
        if answer {
            p.answered();
        }
        assert_eq!(p.next(), try_("b:1"));
        p.next()
    };
    assert_eq!(round(false), ms(10));
    assert_eq!(round(false), ms(20));
    // "no master yet": the cluster is electing; poll, do not back off.
    assert_eq!(round(true), ms(100));
    assert_eq!(round(true), ms(100));
    // Silent again: the backoff starts over.
    assert_eq!(round(false), ms(10));
    assert_eq!(round(false), ms(20));
    // The poll never exceeds maxReconnectDelay.
    let mut p = Plan::reconnect(&addrs(&["a:1"]), &opts(false));
    assert_eq!(p.next(), try_("a:1"));
    p.answered();
    assert_eq!(p.next(), ms(50));
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
