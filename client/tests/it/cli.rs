//! The `ferromq` binary: a send/receive round trip and usage errors.

use crate::common::{Broker, TestResult, broker_or_skip};
use std::process::{Command, Output};

fn ferromq(args: &[&str]) -> std::io::Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_ferromq"))
        .args(args)
        .output()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn send_then_receive_round_trip() -> TestResult {
    let Some(bin) = broker_or_skip() else {
        return Ok(());
    };
    let broker = Broker::start(&bin, "cli")?;
    let url = format!("failover:(tcp://{})?randomize=false", broker.stomp);
    let sent = ferromq(&[
        "send",
        "--url",
        &url,
        "--destination",
        "/queue/cli",
        "--count",
        "3",
        "--header",
        "x-kind:test",
        "hello world",
    ])?;
    assert_eq!(sent.status.code(), Some(0), "{}", text(&sent.stderr));
    assert_eq!(text(&sent.stdout), "3 of 3 messages receipted\n");

    let got = ferromq(&[
        "receive",
        "--url",
        &url,
        "--destination",
        "/queue/cli",
        "--count",
        "3",
        "--timeout",
        "10s",
    ])?;
    assert_eq!(got.status.code(), Some(0), "{}", text(&got.stderr));
    assert_eq!(text(&got.stdout), "hello world\nhello world\nhello world\n");

    // The queue is empty now: a count that cannot be met fails (exit 1).
    let none = ferromq(&[
        "receive",
        "--url",
        &url,
        "--destination",
        "/queue/cli",
        "--count",
        "1",
        "--timeout",
        "300ms",
        "--quiet",
    ])?;
    assert_eq!(none.status.code(), Some(1));
    assert_eq!(text(&none.stdout), "0 messages received\n");

    let admin = format!("http://{}", broker.admin);
    let status = ferromq(&["status", "--admin", &admin])?;
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    let table = text(&status.stdout);
    assert!(
        table.starts_with("ADMIN") && table.contains("standalone"),
        "{table}"
    );
    Ok(())
}

#[test]
fn bad_input_is_a_one_line_usage_error() -> TestResult {
    for args in [
        &[
            "send",
            "--url",
            "failover:(tcp://h:1)?bogus=1",
            "--destination",
            "/queue/q",
            "x",
        ][..],
        &[
            "send",
            "--url",
            "tcp://nohost",
            "--destination",
            "/queue/q",
            "x",
        ][..],
        &[
            "receive",
            "--url",
            "http://h:1",
            "--destination",
            "/queue/q",
        ][..],
        &["status", "--admin", "http://nohost"][..],
    ] {
        let out = ferromq(args)?;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("ferromq: "), "{stderr}");
    }
    let out = ferromq(&[
        "send",
        "--url",
        "failover:(tcp://h:1)?bogus=1",
        "--destination",
        "/q",
        "x",
    ])?;
    assert_eq!(
        text(&out.stderr),
        "ferromq: invalid URL: unknown option \"bogus\"\n"
    );
    // Clap's own usage errors exit 2 as well.
    assert_eq!(ferromq(&["send", "--count", "x"])?.status.code(), Some(2));
    Ok(())
}
