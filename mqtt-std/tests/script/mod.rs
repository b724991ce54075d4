//! A running `mqttc script` for the tests that drive it, and a Mosquitto with an ACL.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;

use serde_json::{Value, json};

use crate::common::{WAIT, id};

pub const MQTTC: &str = env!("CARGO_BIN_EXE_mqttc");

/// A running `mqttc script`: commands in, events out.
pub struct Script {
    child: Child,
    stdin: ChildStdin,
    events: mpsc::Receiver<Value>,
    backlog: Vec<Value>,
}

impl Script {
    pub fn start() -> Script {
        let mut child = Command::new(MQTTC)
            .arg("script")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, events) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"));
                let _ = tx.send(v);
            }
        });
        Script {
            child,
            stdin,
            events,
            backlog: Vec::new(),
        }
    }

    pub fn send(&mut self, v: Value) {
        writeln!(self.stdin, "{v}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next event named `name` (others are kept for later).
    pub fn expect(&mut self, name: &str) -> Value {
        if let Some(i) = self.backlog.iter().position(|v| v["event"] == name) {
            return self.backlog.remove(i);
        }
        loop {
            let v = self
                .events
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no {name:?} event; backlog {:?}", self.backlog));
            if v["event"] == name {
                return v;
            }
            self.backlog.push(v);
        }
    }

    /// The error event of the command just sent.
    pub fn expect_error(&mut self, cmd: &str) -> String {
        let e = self.expect("error");
        assert_eq!(e["cmd"], cmd, "{e}");
        e["error"].as_str().unwrap().to_owned()
    }

    /// Connects at 5.0 to `port` with these extra fields and returns the connack.
    pub fn connect5(&mut self, port: u16, extra: Value) -> Value {
        let mut cmd = json!({"cmd": "connect", "host": "127.0.0.1", "port": port,
                             "protocol_version": 5});
        for (k, v) in extra.as_object().unwrap() {
            cmd[k] = v.clone();
        }
        self.send(cmd);
        self.expect("connack")
    }

    pub fn exit(mut self) {
        self.send(json!({"cmd": "exit"}));
        let status = self.child.wait().unwrap();
        assert!(status.success());
    }
}

/// Mosquitto whose plain listener lets anonymous clients publish and subscribe on `v5/#`
/// only, and the directory of its ACL file (for the test to remove).
pub fn broker_with_acl() -> (mqtt_test_broker::Broker, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("mqttc-script-acl-{}", id("acl")));
    std::fs::create_dir_all(&dir).unwrap();
    let acl = dir.join("acl");
    std::fs::write(&acl, "topic readwrite v5/#\n").unwrap();
    // Mosquitto started as root reads it as its own user.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&acl, std::fs::Permissions::from_mode(0o644)).unwrap();
    let b = mqtt_test_broker::Broker::builder()
        .plain_listener_line(&format!("acl_file {}", acl.display()))
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    (b, dir)
}
