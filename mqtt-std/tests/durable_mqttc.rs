//! `mqttc --session-store` and the script's `session_store` against a private Mosquitto.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::*;
use serde_json::{Value, json};

const MQTTC: &str = env!("CARGO_BIN_EXE_mqttc");

fn mqttc(args: &[&str]) -> Output {
    Command::new(MQTTC)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mqttc-durable-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn pub_and_sub_with_session_stores_resume_across_runs() {
    let broker = broker();
    let port = broker.port().to_string();
    let (sub_store, pub_store) = (dir("sub"), dir("pub"));
    let (sub_store, pub_store) = (
        sub_store.display().to_string(),
        pub_store.display().to_string(),
    );
    let sub_id = id("dsub");
    let pub_id = id("dpub");
    let sub = |extra: &[&str]| {
        let mut args = vec![
            "sub",
            "-p",
            &port,
            "-c",
            "-i",
            &sub_id,
            "--session-store",
            &sub_store,
            "-q",
            "2",
            "-t",
            "durable/t",
        ];
        args.extend_from_slice(extra);
        mqttc(&args)
    };
    // The first run makes the subscription (and gives up after a second: nothing came).
    let o = sub(&["-W", "1"]);
    assert_eq!(o.status.code(), Some(1));
    for text in ["first", "second"] {
        ok(&mqttc(&[
            "pub",
            "-p",
            &port,
            "-c",
            "-i",
            &pub_id,
            "--session-store",
            &pub_store,
            "-q",
            "2",
            "-t",
            "durable/t",
            "-m",
            text,
        ]));
    }
    // Each run takes the next message; a message printed by a run that ended normally is
    // not handed out again.
    assert_eq!(ok(&sub(&["-C", "1", "-W", "10"])), "first\n");
    assert_eq!(ok(&sub(&["-C", "1", "-W", "10"])), "second\n");
    let o = sub(&["-C", "1", "-W", "1"]);
    assert_eq!(o.status.code(), Some(1), "nothing is left to print");
    assert!(o.stdout.is_empty());
    std::fs::remove_dir_all(&sub_store).unwrap();
    std::fs::remove_dir_all(&pub_store).unwrap();
}

struct Script {
    child: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Script {
    fn start() -> Script {
        let mut child = Command::new(MQTTC)
            .arg("script")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Script { child, lines }
    }
    fn send(&mut self, v: Value) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{v}").unwrap();
        stdin.flush().unwrap();
    }
    fn expect(&mut self, event: &str) -> Value {
        loop {
            let line = self.lines.next().unwrap().unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["event"] == event {
                return v;
            }
            assert_ne!(v["event"], "error", "{v}");
        }
    }
    /// Both events, in whichever order they come.
    fn expect_both(&mut self, a: &str, b: &str) -> (Value, Value) {
        let (mut va, mut vb) = (None, None);
        while va.is_none() || vb.is_none() {
            let line = self.lines.next().unwrap().unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            assert_ne!(v["event"], "error", "{v}");
            if v["event"] == a && va.is_none() {
                va = Some(v);
            } else if v["event"] == b && vb.is_none() {
                vb = Some(v);
            }
        }
        (va.unwrap(), vb.unwrap())
    }
    fn exit(mut self) {
        self.send(json!({"cmd": "exit"}));
        assert!(self.child.wait().unwrap().success());
    }
}

#[test]
fn script_messages_carry_their_store_number_never_reused() {
    let broker = broker();
    let store = dir("script");
    let client_id = id("dscript");
    let connect = json!({"cmd": "connect", "host": "127.0.0.1", "port": broker.port(),
        "client_id": client_id, "clean_session": false, "session_store": store});
    let mut s = Script::start();
    s.send(connect.clone());
    s.expect("connack");
    s.send(json!({"cmd": "subscribe", "filters": [{"filter": "numbered", "qos": 1}]}));
    s.expect("suback");
    for (n, text) in [(1, "a"), (2, "b")] {
        s.send(json!({"cmd": "publish", "topic": "numbered", "payload": text, "qos": 1}));
        // The publish's own flow completes too (else its PUBACK may come after the exit, and
        // the store rightly sends it again on the next run: a QoS 1 duplicate).
        let (m, _) = s.expect_both("message", "published");
        assert_eq!(
            (m["payload"].as_str(), m["seq"].as_u64()),
            (Some(text), Some(n))
        );
    }
    s.exit();
    let mut s = Script::start();
    s.send(connect.clone());
    assert_eq!(s.expect("connack")["session_present"], true);
    s.send(json!({"cmd": "publish", "topic": "numbered", "payload": "c", "qos": 1}));
    let m = s.expect("message");
    assert_eq!(
        (m["payload"].as_str(), m["seq"].as_u64()),
        (Some("c"), Some(3))
    );
    // QoS 0 is not recorded.
    s.send(json!({"cmd": "publish", "topic": "numbered", "payload": "d", "qos": 0}));
    assert_eq!(s.expect("message")["seq"], Value::Null);
    // Killed while handling message 4: a restart hands it out again (and only it), with its
    // number.
    s.send(json!({"cmd": "publish", "topic": "numbered", "payload": "e", "qos": 1}));
    assert_eq!(s.expect("message")["seq"], 4);
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    let mut s = Script::start();
    s.send(connect);
    let m = s.expect("message");
    assert_eq!(
        (m["payload"].as_str(), m["seq"].as_u64()),
        (Some("e"), Some(4))
    );
    s.expect("connack");
    s.exit();
    std::fs::remove_dir_all(&store).unwrap();
}
