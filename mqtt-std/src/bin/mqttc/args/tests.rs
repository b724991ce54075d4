//! Unit tests of the defaults and the checks across options: `pub` and `sub` command lines,
//! parsed as `main` parses them.

#![allow(clippy::unwrap_used)]
use super::*;
use clap::Parser as _;

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// `mqttc pub ARGV` or `mqttc sub ARGV`, parsed and checked as `main` does.
fn parse(mode: Mode, argv: &[String]) -> Result<Args, String> {
    let name = match mode {
        Mode::Pub => "pub",
        Mode::Sub => "sub",
    };
    let argv = ["mqttc", name]
        .into_iter()
        .map(str::to_owned)
        .chain(argv.iter().cloned());
    match crate::cli::Cli::try_parse_from(argv)
        .map_err(|e| e.to_string())?
        .command
    {
        crate::cli::Command::Pub(p) => from_pub(p).map_err(|u| u.0),
        crate::cli::Command::Sub(s) => from_sub(s).map_err(|u| u.0),
        _ => Err("neither pub nor sub".to_owned()),
    }
}

#[test]
fn generated_ids_are_short_alphanumeric() {
    for _ in 0..100 {
        let id = generated_client_id();
        assert!((1..=23).contains(&id.len()), "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
    }
}

#[test]
fn defaults_and_tls_port() {
    let a = parse(Mode::Pub, &args("-t a/b -m x")).unwrap();
    assert_eq!(
        (a.host.as_str(), a.port, a.keep_alive),
        ("localhost", 1883, 60)
    );
    assert!(a.clean_session);
    let a = parse(Mode::Sub, &args("-t a/# --cafile ca.pem")).unwrap();
    assert_eq!(a.port, 8883);
}

#[test]
fn websocket_urls_and_paths() {
    let a = parse(Mode::Sub, &args("-t a -L ws://127.0.0.1:9001/gw")).unwrap();
    assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", 9001));
    assert_eq!(a.websocket.unwrap().path(), "/gw");
    let a = parse(
        Mode::Sub,
        &args("-t a -L wss://h/m --cafile ca.pem --ws-header Authorization:Bearer"),
    )
    .unwrap();
    assert_eq!((a.port, a.tls.is_some()), (443, true));
    assert_eq!(a.websocket.unwrap().headers().len(), 1);
    let a = parse(Mode::Sub, &args("-t a --ws-path /mqtt -p 8080")).unwrap();
    assert_eq!((a.port, a.websocket.unwrap().path()), (8080, "/mqtt"));
    let a = parse(Mode::Sub, &args("-t a --ws-path /mqtt")).unwrap();
    assert_eq!(a.port, 80);
    // wss:// without a CA option: TLS with the system's trust store.
    let a = parse(Mode::Sub, &args("-t a -L wss://h/m")).unwrap();
    let tls = a.tls.unwrap();
    assert!(tls.cafile.is_none() && tls.capath.is_none());
    // -p 8883 turns TLS on too, as with mosquitto_sub; ALPN needs TLS.
    let a = parse(Mode::Sub, &args("-t a -p 8883 --tls-alpn x-amzn-mqtt-ca")).unwrap();
    assert_eq!(a.tls.unwrap().alpn, ["x-amzn-mqtt-ca"]);
    assert!(parse(Mode::Sub, &args("-t a --tls-alpn mqtt")).is_err());
    for bad in [
        "-t a -L ws://h/m --cafile ca.pem",
        "-t a -L ws://h/m -p 1",
        "-t a -L ws://h/m --ws-path /x",
        "-t a -L http://h/",
        "-t a --ws-header X:y",
        "-t a --ws-path /m --ws-header nocolon",
    ] {
        assert!(parse(Mode::Sub, &args(bad)).is_err(), "{bad}");
    }
}

#[test]
fn usage_errors() {
    for bad in [
        "-t a -m x -q 3",
        "-t a -m x -c",
        "-t a -m x -P pw",
        "-t a/+ -m x",
        "-t  -m x",
        "-m x",
        "-t a",
        "-t a -m x -n",
        "-t a -m x -C 1",
        "-t a -m x --bogus",
        "-t a -m x -p",
        "-t a -m x -p 70000",
        "-t a -m x --cert c.pem",
    ] {
        assert!(parse(Mode::Pub, &args(bad)).is_err(), "{bad}");
    }
    for bad in ["", "-t a/#/b", "-t a -m x", "-t a -r", "-t a+ -q 1"] {
        assert!(parse(Mode::Sub, &args(bad)).is_err(), "{bad}");
    }
}
