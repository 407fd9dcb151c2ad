//! Unit tests of failover URL parsing.

use super::*;

fn parse(url: &str) -> Result<FailoverUrl, UrlError> {
    FailoverUrl::parse(url)
}

#[test]
fn parenthesised_list_with_options() {
    let u = parse(
        "failover:(tcp://h1:61613,tcp://h2:61613,tcp://h3:61613)?randomize=false\
         &initialReconnectDelay=10&maxReconnectDelay=1000&maxReconnectAttempts=-1",
    );
    let u = u.expect("valid URL");
    assert_eq!(u.addresses, ["h1:61613", "h2:61613", "h3:61613"]);
    assert!(!u.options.randomize);
    assert_eq!(u.options.max_reconnect_delay, Duration::from_millis(1000));
    assert_eq!(u.options.max_reconnect_attempts, Attempts::Forever);
}

#[test]
fn defaults_are_activemqs() {
    let u = parse("failover:(tcp://h:1)").expect("valid URL");
    assert_eq!(u.options, FailoverOptions::default());
    assert_eq!(u.options.initial_reconnect_delay, Duration::from_millis(10));
    assert!(u.options.randomize && u.options.use_exponential_back_off);
    assert_eq!(u.options.timeout, None);
}

#[test]
fn bare_list_and_plain_tcp() {
    let u = parse("failover:tcp://a:1, tcp://b:2?timeout=500").expect("valid URL");
    assert_eq!(u.addresses, ["a:1", "b:2"]);
    assert_eq!(u.options.timeout, Some(Duration::from_millis(500)));
    let u = parse("tcp://127.0.0.1:61613").expect("valid URL");
    assert_eq!(u.addresses, ["127.0.0.1:61613"]);
    assert_eq!(u.options.max_reconnect_attempts, Attempts::Limited(0));
    let u = parse("failover:(tcp://[::1]:5,stomp://x-y.z:6/)").expect("valid URL");
    assert_eq!(u.addresses, ["[::1]:5", "x-y.z:6"]);
}

#[test]
fn every_option_is_read() {
    let u = parse(
        "failover:(tcp://h:1)?useExponentialBackOff=false&backOffMultiplier=1.5\
         &maxReconnectAttempts=0&startupMaxReconnectAttempts=3&timeout=-1",
    )
    .expect("valid URL");
    assert!(!u.options.use_exponential_back_off);
    assert_eq!(u.options.back_off_multiplier, 1.5);
    assert_eq!(u.options.max_reconnect_attempts, Attempts::Limited(0));
    assert_eq!(
        u.options.startup_max_reconnect_attempts,
        Some(Attempts::Limited(3))
    );
}

#[test]
fn errors_name_what_is_wrong() {
    let unknown = parse("failover:(tcp://h:1)?jms.prefetch=5");
    assert_eq!(unknown, Err(UrlError::UnknownOption("jms.prefetch".into())));
    let msg = parse("failover:(tcp://h:1)?randomize=maybe")
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        msg.as_deref(),
        Some("option randomize=\"maybe\": expected true or false")
    );
    assert!(matches!(
        parse("failover:(tcp://h:1)?maxReconnectAttempts=-2"),
        Err(UrlError::BadValue { .. })
    ));
    assert!(matches!(
        parse("failover:(tcp://h:1)?backOffMultiplier=0.5"),
        Err(UrlError::BadValue { .. })
    ));
    assert_eq!(parse(" "), Err(UrlError::Empty));
    assert_eq!(parse("failover:()"), Err(UrlError::NoAddresses));
    assert_eq!(parse("failover:(tcp://h:1"), Err(UrlError::Unbalanced));
    assert!(matches!(
        parse("failover:(tcp://h:1)x"),
        Err(UrlError::Trailing(_))
    ));
    assert!(matches!(
        parse("http://h:1"),
        Err(UrlError::UnsupportedScheme(_))
    ));
    assert!(matches!(
        parse("tcp://h:0"),
        Err(UrlError::BadAddress { .. })
    ));
    assert!(matches!(parse("tcp://h"), Err(UrlError::BadAddress { .. })));
    assert!(matches!(
        parse("tcp://h j:1"),
        Err(UrlError::BadAddress { .. })
    ));
    assert!(matches!(
        parse("failover:(tcp://h:1?x=1)"),
        Err(UrlError::NestedOptions(_))
    ));
}
