//! The `mqttc` binary against a private Mosquitto: `pub`, `sub`, `script`, and usage errors.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read as _, Write};
use std::os::unix::ffi::OsStrExt;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;

use common::*;
use mqtt_test_broker::Broker;
use serde_json::{Value, json};

const MQTTC: &str = env!("CARGO_BIN_EXE_mqttc");

fn mqttc(args: &[&str]) -> Output {
    Command::new(MQTTC)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn mqttc_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(MQTTC)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit status 1 and exactly one line on stderr, which contains `needle`.
fn assert_fails_with(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A running `mqttc sub -d ...` that has received its SUBACK.
struct Sub {
    child: Child,
    /// `-d`'s lines (stderr).
    lines: mpsc::Receiver<String>,
}

impl Sub {
    fn start(args: &[&str]) -> Sub {
        let mut child = Command::new(MQTTC)
            .arg("sub")
            .arg("-d")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let sub = Sub { child, lines: rx };
        sub.wait_line("received SUBACK");
        sub
    }

    /// Waits for a `-d` line starting with `prefix`.
    fn wait_line(&self, prefix: &str) {
        loop {
            let line = self
                .lines
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no {prefix:?} from mqttc sub"));
            if line.starts_with(prefix) {
                return;
            }
        }
    }

    fn output(self) -> (Option<i32>, String) {
        let out = self.child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

#[test]
fn pub_and_sub_at_each_qos() {
    let broker = broker();
    let port = broker.port().to_string();
    for qos in ["0", "1", "2"] {
        let topic = format!("cli/q{qos}");
        let sub = Sub::start(&["-p", &port, "-t", &topic, "-q", qos, "-C", "1", "-v"]);
        let o = mqttc(&["pub", "-p", &port, "-t", &topic, "-q", qos, "-m", "hello"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (code, out) = sub.output();
        assert_eq!(code, Some(0));
        assert_eq!(out, format!("{topic} hello\n"));
    }
}

#[test]
fn pub_payload_sources() {
    let broker = broker();
    let port = broker.port().to_string();
    let sub = Sub::start(&["-p", &port, "-t", "src/#", "-q", "1", "-C", "6"]);
    // -l: one message per line.
    let o = mqttc_stdin(
        &["pub", "-p", &port, "-t", "src/l", "-q", "1", "-l"],
        b"one\ntwo\r\nthree\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // -s: all of stdin.
    let o = mqttc_stdin(
        &["pub", "-p", &port, "-t", "src/s", "-q", "1", "-s"],
        b"all\nof it",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // -f FILE.
    let file = broker.dir().join("payload.txt");
    std::fs::write(&file, b"from a file").unwrap();
    let o = mqttc(&[
        "pub",
        "-p",
        &port,
        "-t",
        "src/f",
        "-f",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // -n: empty.
    let o = mqttc(&["pub", "-p", &port, "-t", "src/n", "-n"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (code, out) = sub.output();
    assert_eq!(code, Some(0));
    assert_eq!(out, "one\ntwo\nthree\nall\nof it\nfrom a file\n\n");
}

#[test]
fn retained_publish_and_login() {
    let broker = broker();
    let port = broker.auth_port().to_string();
    let login = ["-u", Broker::USERNAME, "-P", Broker::PASSWORD];
    let mut args = vec![
        "pub", "-p", &port, "-t", "ret/t", "-m", "kept", "-r", "-q", "1",
    ];
    args.extend(login);
    let o = mqttc(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut args = vec!["sub", "-p", &port, "-t", "ret/#", "-C", "1", "-W", "20"];
    args.extend(login);
    let o = mqttc(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "kept\n");

    // A wrong password: one clear line, exit 1.
    let o = mqttc(&[
        "pub", "-p", &port, "-t", "x", "-m", "x", "-u", "tester", "-P", "bad",
    ]);
    assert_fails_with(&o, 1, "connection refused: not authorised (5)");
}

/// `-L mqtt://USER:PASS@HOST:PORT/TOPIC`, as mosquitto_pub/sub take it: the login and the
/// topic (a filter with `#` for sub) come from the URL.
#[test]
fn broker_url_with_login_and_topic() {
    let broker = broker();
    let port = broker.auth_port();
    let url = |topic: &str| {
        format!(
            "mqtt://{}:{}@127.0.0.1:{port}/{topic}",
            Broker::USERNAME,
            Broker::PASSWORD
        )
    };
    let sub = url("url/#");
    let mut sub = Command::new(MQTTC)
        .args(["sub", "-L", &sub, "-C", "1", "-W", "20", "-v", "-d"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the SUBACK in its -d trace before publishing.
    let mut err = std::io::BufReader::new(sub.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("SUBACK") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut err, &mut line).unwrap() > 0,
            "no SUBACK"
        );
    }
    let o = mqttc(&["pub", "-L", &url("url/t"), "-m", "from a url", "-q", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = sub.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "url/t from a url\n");
    // A wrong password in the URL is refused by the broker; -u beside a URL login is a
    // usage error.
    let bad = format!("mqtt://{}:nope@127.0.0.1:{port}/t", Broker::USERNAME);
    assert_fails_with(&mqttc(&["pub", "-L", &bad, "-m", "x"]), 1, "not authorised");
    let o = mqttc(&["pub", "-L", &url("t"), "-u", "x", "-m", "x"]);
    assert_fails_with(&o, 2, "leave out -u");
    let o = mqttc(&["pub", "-L", &url("t"), "-t", "t", "-m", "x"]);
    assert_fails_with(&o, 2, "leave out -t");
}

/// The password kept off the command line (where `ps` shows it): from a file, or from the
/// environment; -P wins over both, --pw-file over the environment.
#[test]
fn password_from_a_file_or_the_environment() {
    let broker = broker();
    let port = broker.auth_port().to_string();
    let dir = std::env::temp_dir().join(format!("mqttc-pw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good");
    std::fs::write(&good, format!("{}\n", Broker::PASSWORD)).unwrap();
    let bad = dir.join("bad");
    std::fs::write(&bad, "wrong\n").unwrap();
    let run = |extra: &[&str], env: Option<&str>| {
        let mut c = Command::new(MQTTC);
        c.args(["pub", "-p", &port, "-t", "pw/t", "-m", "x", "-q", "1"]);
        c.stdin(Stdio::null());
        c.args(["-u", Broker::USERNAME]).args(extra);
        c.env_remove("MQTTC_PASSWORD");
        if let Some(p) = env {
            c.env("MQTTC_PASSWORD", p);
        }
        c.output().unwrap()
    };
    let good = good.to_str().unwrap();
    let bad = bad.to_str().unwrap();
    let refused = "connection refused: not authorised (5)";
    // From a file (its trailing newline is not part of it).
    let o = run(&["--pw-file", good], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_fails_with(&run(&["--pw-file", bad], None), 1, refused);
    // From the environment.
    let o = run(&[], Some(Broker::PASSWORD));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_fails_with(&run(&[], Some("wrong")), 1, refused);
    // -P and --pw-file win over the environment.
    let o = run(&["-P", Broker::PASSWORD], Some("wrong"));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["--pw-file", good], Some("wrong"));
    assert!(o.status.success(), "{}", stderr(&o));
    // A file that cannot be read is a usage error naming it.
    let o = run(&["--pw-file", "/nonexistent/pw"], None);
    assert_fails_with(&o, 2, "--pw-file /nonexistent/pw");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tls_options() {
    let broker = broker();
    let pki = broker.pki();
    let ca = pki.ca_path();
    let ca = ca.to_str().unwrap();
    let tls = broker.tls_port().to_string();
    let o = mqttc(&[
        "pub",
        "-h",
        "localhost",
        "-p",
        &tls,
        "--cafile",
        ca,
        "-t",
        "t",
        "-m",
        "x",
        "-q",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    let other = pki.other_ca_path();
    let o = mqttc(&[
        "pub",
        "-h",
        "localhost",
        "-p",
        &tls,
        "--cafile",
        other.to_str().unwrap(),
        "-t",
        "t",
        "-m",
        "x",
    ]);
    assert_fails_with(&o, 1, "tls: unknown certificate authority");

    let o = mqttc(&[
        "pub",
        "-h",
        "localhost",
        "-p",
        &tls,
        "--cafile",
        ca,
        "--tls-server-name",
        "wrong.example",
        "-t",
        "t",
        "-m",
        "x",
    ]);
    assert_fails_with(&o, 1, "tls: certificate is not valid for the server name");
    // --insecure skips the name check only.
    let o = mqttc(&[
        "pub",
        "-h",
        "localhost",
        "-p",
        &tls,
        "--cafile",
        ca,
        "--tls-server-name",
        "wrong.example",
        "--insecure",
        "-t",
        "t",
        "-m",
        "x",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = mqttc(&[
        "pub",
        "-h",
        "localhost",
        "-p",
        &tls,
        "--cafile",
        other.to_str().unwrap(),
        "--insecure",
        "-t",
        "t",
        "-m",
        "x",
    ]);
    assert_fails_with(&o, 1, "tls: unknown certificate authority");

    // Mutual TLS.
    let mtls = broker.mtls_port().to_string();
    let (cert, key) = (pki.client_cert_path(), pki.client_key_path());
    let o = mqttc(&[
        "pub",
        "-h",
        "localhost",
        "-p",
        &mtls,
        "--cafile",
        ca,
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "-t",
        "t",
        "-m",
        "x",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["pub", "-t", "a", "-m", "x", "-q", "3"],
        &["pub", "-t", "a", "-m", "x", "-c"],
        &["pub", "-t", "a", "-m", "x", "-P", "pw"],
        &["pub", "-t", "a/+", "-m", "x"],
        &["pub", "-t", "", "-m", "x"],
        &["pub", "-t", "a"],
        &["pub", "-m", "x"],
        &["pub", "-t", "a", "-m", "x", "--nonsense"],
        &["pub", "-t", "a", "-m", "x", "-p", "99999"],
        &["pub", "-t", "a", "-m", "x", "-k"],
        &["sub"],
        &["sub", "-t", "a/#/b"],
        &["sub", "-t", "a", "-C", "0"],
        &["sub", "-t", "a", "-m", "x"],
        &["script", "extra"],
    ] {
        let o = mqttc(args);
        assert_fails_with(&o, 2, "usage error");
    }
    // The options are listed by `mqttc pub --help` and `mqttc sub --help`.
    let o = mqttc(&["sub", "--help"]);
    assert!(o.status.success());
    // (Words, whatever the line breaks.)
    let help = String::from_utf8_lossy(&o.stdout);
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains("--session-store <DIR>") && help.contains("restarted mqttc loses nothing"),
        "{help}"
    );
}

#[test]
fn runtime_failures_exit_1_with_one_line() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let o = mqttc(&[
        "pub",
        "-h",
        "127.0.0.1",
        "-p",
        &closed,
        "-t",
        "a",
        "-m",
        "x",
    ]);
    assert_fails_with(&o, 1, "cannot connect to 127.0.0.1:");

    // A session store another process has open is refused before connecting.
    let dir = std::env::temp_dir().join(format!("mqttc-locked-store-{}", std::process::id()));
    let held = mqtt_std::store::FileStore::open(&dir).unwrap();
    let store = dir.display().to_string();
    let o = mqttc(&["pub", "-t", "a", "-m", "x", "--session-store", &store]);
    assert_fails_with(&o, 1, "is in use by another process");
    drop(held);
    std::fs::remove_dir_all(&dir).unwrap();

    let broker = broker();
    let port = broker.port().to_string();
    let o = mqttc(&["sub", "-p", &port, "-t", "quiet", "-W", "1"]);
    assert_fails_with(&o, 1, "timed out after 1 s");

    let o = mqttc(&["pub", "-p", &port, "-t", "a", "-f", "/nonexistent/file"]);
    assert_fails_with(&o, 1, "cannot read /nonexistent/file");
}

#[test]
fn debug_prints_every_packet() {
    let broker = broker();
    let port = broker.port().to_string();
    let o = mqttc(&["pub", "-p", &port, "-t", "dbg", "-q", "2", "-m", "x", "-d"]);
    assert!(o.status.success());
    let err = stderr(&o);
    let lines: Vec<&str> = err
        .lines()
        .map(|l| l.split(' ').take(2).collect::<Vec<_>>())
        .map(|w| if w[1].is_empty() { "" } else { w[1] })
        .collect();
    assert_eq!(
        lines,
        [
            "CONNECT",
            "CONNACK",
            "PUBLISH",
            "PUBREC",
            "PUBREL",
            "PUBCOMP",
            "DISCONNECT"
        ],
        "{err}"
    );
}

/// A running `mqttc script`: commands in, events out.
struct Script {
    child: Child,
    stdin: ChildStdin,
    events: mpsc::Receiver<Value>,
    backlog: Vec<Value>,
}

impl Script {
    fn start() -> Script {
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

    fn send(&mut self, v: Value) {
        self.send_raw(&v.to_string());
    }

    fn send_raw(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next event named `name` (others are kept for later).
    fn expect(&mut self, name: &str) -> Value {
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

    fn exit(mut self) {
        self.send(json!({"cmd": "exit"}));
        let status = self.child.wait().unwrap();
        assert!(status.success());
    }
}

#[test]
fn script_mode_end_to_end() {
    let broker = broker();
    let port = broker.port();
    let mut a = Script::start();
    a.send(json!({"cmd": "connect", "host": "127.0.0.1", "port": port, "client_id": id("sa")}));
    let ack = a.expect("connack");
    assert_eq!(ack["return_code"], 0);
    assert_eq!(ack["session_present"], false);
    a.send(json!({"cmd": "subscribe", "filters": [{"filter": "s/#", "qos": 2}, {"filter": "t", "qos": 0}]}));
    let suback = a.expect("suback");
    assert_eq!(suback["return_codes"], json!([2, 0]));
    assert!(suback["packet_id"].as_u64().is_some());

    for qos in 0..3 {
        a.send(json!({"cmd": "publish", "topic": format!("s/{qos}"), "payload": "hi", "qos": qos}));
        let done = a.expect("published");
        assert_eq!(done["packet_id"].is_null(), qos == 0);
        let m = a.expect("message");
        assert_eq!(m["topic"], format!("s/{qos}"));
        assert_eq!(m["payload"], "hi");
        assert_eq!(m["payload_hex"], "6869");
        assert_eq!(m["qos"], qos);
        assert_eq!(m["retain"], false);
        assert_eq!(m["dup"], false);
    }
    // Binary payloads travel as hex only.
    a.send(json!({"cmd": "publish", "topic": "s/bin", "payload_hex": "00ff80", "qos": 1}));
    let m = a.expect("message");
    assert_eq!(m["payload_hex"], "00ff80");
    assert!(m.get("payload").is_none());

    a.send(json!({"cmd": "unsubscribe", "filters": ["s/#"]}));
    assert!(a.expect("unsuback")["packet_id"].as_u64().is_some());

    // Refused commands answer an error event and the process goes on.
    a.send(json!({"cmd": "publish", "topic": "bad/+", "payload": "x"}));
    assert_eq!(a.expect("error")["cmd"], "publish");
    a.send(json!({"cmd": "publish", "topic": "t", "qos": 3}));
    assert_eq!(a.expect("error")["cmd"], "publish");
    a.send_raw("this is not json");
    a.expect("error");
    a.send(json!({"cmd": "warp"}));
    assert_eq!(a.expect("error")["cmd"], "warp");

    a.send(json!({"cmd": "disconnect"}));
    assert_eq!(a.expect("disconnected")["reason"], "local");
    a.send(json!({"cmd": "publish", "topic": "t", "payload": "x"}));
    assert_eq!(a.expect("error")["cmd"], "publish");
    a.exit();
}

#[test]
fn script_mode_will_refusal_and_persistent_session() {
    let broker = broker();
    let port = broker.port();
    let mut watcher = Script::start();
    watcher
        .send(json!({"cmd": "connect", "host": "127.0.0.1", "port": port, "client_id": id("w")}));
    watcher.expect("connack");
    watcher.send(json!({"cmd": "subscribe", "filters": [{"filter": "will/#", "qos": 1}, {"filter": "queued", "qos": 1}]}));
    watcher.expect("suback");

    // drop: no DISCONNECT, so the will is published.
    let mut dying = Script::start();
    dying.send(
        json!({"cmd": "connect", "host": "127.0.0.1", "port": port, "client_id": id("d"),
        "will": {"topic": "will/d", "payload": "bye", "qos": 1, "retain": false}}),
    );
    dying.expect("connack");
    dying.send(json!({"cmd": "drop"}));
    assert_eq!(dying.expect("disconnected")["reason"], "dropped");
    let m = watcher.expect("message");
    assert_eq!(
        (m["topic"].as_str(), m["payload"].as_str()),
        (Some("will/d"), Some("bye"))
    );

    // A refused login answers connack with the code.
    dying.send(
        json!({"cmd": "connect", "host": "127.0.0.1", "port": broker.auth_port(),
        "client_id": id("d"), "username": "tester", "password": "wrong"}),
    );
    assert_eq!(dying.expect("connack")["return_code"], 5);
    dying.exit();

    // Clean session off: messages queued while away arrive on the next connect.
    let persistent = id("p");
    let mut p = Script::start();
    p.send(
        json!({"cmd": "connect", "host": "127.0.0.1", "port": port, "client_id": persistent,
        "clean_session": false}),
    );
    p.expect("connack");
    p.send(json!({"cmd": "subscribe", "filters": [{"filter": "away", "qos": 1}]}));
    p.expect("suback");
    p.send(json!({"cmd": "disconnect"}));
    p.expect("disconnected");
    watcher.send(
        json!({"cmd": "publish", "topic": "away", "payload": "while you were out", "qos": 1}),
    );
    watcher.expect("published");
    p.send(
        json!({"cmd": "connect", "host": "127.0.0.1", "port": port, "client_id": persistent,
        "clean_session": false}),
    );
    assert_eq!(p.expect("connack")["session_present"], true);
    assert_eq!(p.expect("message")["payload"], "while you were out");
    p.exit();
    watcher.exit();
}

#[test]
fn script_mode_over_tls() {
    let broker = broker();
    let mut s = Script::start();
    s.send(
        json!({"cmd": "connect", "host": "localhost", "port": broker.tls_port(),
        "client_id": id("tls"), "tls": {"ca_file": broker.pki().ca_path()}}),
    );
    assert_eq!(s.expect("connack")["return_code"], 0);
    s.send(
        json!({"cmd": "connect", "host": "localhost", "port": broker.tls_port(),
        "client_id": id("tls2"), "tls": {"ca_file": broker.pki().other_ca_path()}}),
    );
    let e = s.expect("error");
    assert_eq!(e["cmd"], "connect");
    assert_eq!(e["error"], "tls: unknown certificate authority");
    s.exit();
}

#[test]
fn never_panics_on_odd_input() {
    // Odd arguments.
    for args in [
        &["pub", "-p", "-1"][..],
        &["pub", "-t", "a\u{fffe}b", "-m", "x", "-p", "1"],
        &["sub", "-t", "+/+/#", "-h", "", "-W", "1"],
        &["pub", "-t", "a", "-m", "x", "-i", ""],
        &["pub", "-t", "a", "-m", "x", "-k", "70000"],
        &["sub", "-t", "#", "-C", "-5"],
        &["sub", "-t", "a", "-p", "1", "-W", "18446744073709551615"],
        &["pub", "--will-payload", "x", "-t", "a", "-m", "x"],
        &["pub", "-t", "a", "-m", "x", "--cafile", "/nonexistent"],
    ] {
        let o = mqttc(args);
        let err = stderr(&o);
        assert!(matches!(o.status.code(), Some(1 | 2)), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    // An argument that is not UTF-8.
    let o = Command::new(MQTTC)
        .args(["pub", "-t"])
        .arg(std::ffi::OsStr::from_bytes(b"a\xffb"))
        .args(["-m", "x"])
        .output()
        .unwrap();
    assert_fails_with(&o, 2, "not valid UTF-8");
    // Odd script lines: each answered with an error event, then a clean exit.
    let input = "[]\n{}\n{\"cmd\":5}\n{\"cmd\":\"publish\"}\n{\"cmd\":\"connect\",\"port\":\"x\"}\n\
                 {\"cmd\":\"subscribe\",\"filters\":[{\"filter\":\"a\",\"qos\":9}]}\n\
                 {\"cmd\":\"publish\",\"topic\":\"a\",\"payload_hex\":\"zz\"}\n\u{1}\u{2}\n";
    let o = mqttc_stdin(&["script"], input.as_bytes());
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), 8, "{out}");
    for line in out.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["event"], "error", "{line}");
    }
    assert!(!stderr(&o).contains("panicked"));
}

/// As mosquitto_sub: a lost link is not the end of `sub`. The broker restarts (SIGKILL,
/// persistence off, so the session is gone): `sub` connects again, subscribes again, and
/// goes on printing.
#[test]
fn sub_reconnects_after_a_broker_restart_and_subscribes_again() {
    let mut broker = broker();
    let port = broker.port().to_string();
    let sub = Sub::start(&["-p", &port, "-t", "restart/#", "-q", "1", "-C", "2"]);
    let o = mqttc(&[
        "pub",
        "-p",
        &port,
        "-t",
        "restart/a",
        "-m",
        "before",
        "-q",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    broker.restart().unwrap();
    // The CONNACK of the reconnect, then the SUBACK of the subscriptions sent again.
    sub.wait_line("received CONNACK");
    sub.wait_line("received SUBACK");
    let o = mqttc(&[
        "pub",
        "-p",
        &port,
        "-t",
        "restart/b",
        "-m",
        "after",
        "-q",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (code, out) = sub.output();
    assert_eq!(code, Some(0));
    assert_eq!(out, "before\nafter\n");
}

/// `pub -l` keeps reading lines across a broker restart: it reconnects, the lines read while
/// the link was down wait (QoS 1: in the session; QoS 0: for the reconnect) and go out after
/// it, and the run ends with exit 0 once all are delivered.
#[test]
fn pub_lines_reconnect_after_a_broker_restart_and_resume() {
    for qos in ["0", "1"] {
        let mut broker = broker();
        let port = broker.port().to_string();
        let sub = Sub::start(&["-p", &port, "-t", "lines", "-q", "1", "-C", "6"]);
        let mut publisher = Command::new(MQTTC)
            .args(["pub", "-p", &port, "-t", "lines", "-q", qos, "-l"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = publisher.stdin.take().unwrap();
        stdin.write_all(b"1\n2\n3\n").unwrap();
        stdin.flush().unwrap();
        for _ in 0..3 {
            sub.wait_line("received PUBLISH");
        }
        broker.restart().unwrap();
        sub.wait_line("received SUBACK");
        stdin.write_all(b"4\n5\n6\n").unwrap();
        drop(stdin);
        let out = publisher.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "QoS {qos}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (code, printed) = sub.output();
        assert_eq!(code, Some(0), "QoS {qos}");
        assert_eq!(printed, "1\n2\n3\n4\n5\n6\n", "QoS {qos}");
    }
}

/// `--max-packet` and `--queue-bytes` take sizes with K, M or G; a packet over the limit
/// ends `sub` with exit 1 and one line.
#[test]
fn memory_limits_are_options() {
    let broker = broker();
    let port = broker.port().to_string();
    let sub = Sub::start(&[
        "-p",
        &port,
        "-t",
        "big",
        "--max-packet",
        "1K",
        "--queue-bytes",
        "64K",
    ]);
    let o = mqttc_stdin(
        &["pub", "-p", &port, "-t", "big", "-s", "-q", "1"],
        &[b'x'; 2000],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let Sub { mut child, lines } = sub;
    assert_eq!(child.wait().unwrap().code(), Some(1));
    // Every stderr line, to its end: the last one says why.
    let err: Vec<String> = lines.iter().collect();
    let last = err.last().map(String::as_str).unwrap_or_default();
    assert!(last.contains("larger than the receive buffer"), "{err:?}");
    for bad in ["0", "12X", "-1", "99999999999999999999G"] {
        assert_fails_with(
            &mqttc(&["sub", "-t", "x", "--max-packet", bad]),
            2,
            "--max-packet",
        );
    }
}

/// An end that another attempt would not mend ends `sub` at once, with exit 1: here the
/// broker breaks the protocol (a packet of the reserved type 0) after the SUBACK.
#[test]
fn sub_exits_1_when_the_broker_breaks_the_protocol() {
    let (port, server) = scripted(|mut s| {
        let (first, _) = read_packet(&mut s);
        assert_eq!(first, 0x10);
        s.write_all(&[0x20, 0x02, 0x00, 0x00]).unwrap();
        let (first, body) = read_packet(&mut s);
        assert_eq!(first, 0x82);
        s.write_all(&[0x90, 0x03, body[0], body[1], 0x00]).unwrap();
        s.write_all(&[0x00, 0x00]).unwrap();
        // Whatever comes until the client closes.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let port = port.to_string();
    let sub = Sub::start(&["-p", &port, "-t", "x"]);
    let out = sub.child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    server.join().unwrap();
}

/// mosquitto_sub's habits: `-F` formats, `-N`, `-T`, `-R`, `--retained-only`,
/// `--remove-retained`, `-E`, `-U`; and `pub --repeat`.
#[test]
fn sub_output_and_selection_options() {
    let broker = broker();
    let port = broker.port().to_string();
    let p = port.as_str();
    let publish = |args: &[&str]| {
        let mut all = vec!["pub", "-p", p];
        all.extend_from_slice(args);
        let o = mqttc(&all);
        assert!(o.status.success(), "{}", stderr(&o));
    };

    // -F with most specifiers; the message id of a QoS 1 message is its packet id (1 here).
    let sub = Sub::start(&[
        "-p",
        p,
        "-t",
        "fmt/#",
        "-q",
        "1",
        "-C",
        "1",
        "-F",
        r"%t|%q|%r|%l|%x|%m\n",
    ]);
    publish(&["-t", "fmt/a", "-m", "Hi", "-q", "1"]);
    assert_eq!(sub.output(), (Some(0), "fmt/a|1|0|2|4869|1\n".to_owned()));

    // %j: one JSON object per message.
    let sub = Sub::start(&["-p", p, "-t", "json/t", "-C", "1", "-F", r"%j\n"]);
    publish(&["-t", "json/t", "-m", "x y"]);
    let (code, out) = sub.output();
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
    assert_eq!(
        (
            v["topic"].as_str(),
            v["payload"].as_str(),
            v["qos"].as_u64()
        ),
        (Some("json/t"), Some("x y"), Some(0))
    );

    // -N, -T, and pub --repeat.
    let sub = Sub::start(&["-p", p, "-t", "rep/#", "-T", "rep/skip", "-N", "-C", "3"]);
    publish(&["-t", "rep/skip", "-m", "hidden"]);
    publish(&[
        "-t",
        "rep/a",
        "-m",
        "ab",
        "--repeat",
        "3",
        "--repeat-delay",
        "0.01",
        "-q",
        "1",
    ]);
    assert_eq!(sub.output(), (Some(0), "ababab".to_owned()));

    // -R skips the retained message sent on subscribing; --retained-only prints it and stops
    // at the first message that is not retained; --remove-retained clears it.
    publish(&["-t", "ret/a", "-m", "old", "-r", "-q", "1"]);
    let sub = Sub::start(&["-p", p, "-t", "ret/#", "-R", "-C", "1"]);
    publish(&["-t", "ret/a", "-m", "new"]);
    assert_eq!(sub.output(), (Some(0), "new\n".to_owned()));
    let sub = Sub::start(&[
        "-p",
        p,
        "-t",
        "ret/#",
        "--retained-only",
        "--remove-retained",
    ]);
    publish(&["-t", "ret/b", "-m", "live"]);
    assert_eq!(sub.output(), (Some(0), "old\n".to_owned()));
    let sub = Sub::start(&["-p", p, "-t", "ret/#", "--retained-only"]);
    publish(&["-t", "ret/b", "-m", "live"]);
    assert_eq!(
        sub.output(),
        (Some(0), String::new()),
        "the retained message is gone"
    );

    // -E exits once subscribed; -U ends a persistent subscription.
    let id = format!("mqttc-u-{}", std::process::id());
    let persistent = ["-p", p, "-c", "-i", id.as_str(), "-q", "1"];
    let mut args = vec!["sub"];
    args.extend_from_slice(&persistent);
    args.extend_from_slice(&["-t", "uns/t", "-E"]);
    let o = mqttc(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut args = vec!["sub"];
    args.extend_from_slice(&persistent);
    args.extend_from_slice(&["-U", "uns/t", "-E"]);
    let o = mqttc(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    // Offline now: a message on the old filter is not queued for the session any more, so
    // the first message after reconnecting is the marker on another topic.
    publish(&["-t", "uns/t", "-m", "not for us", "-q", "1"]);
    let mut args = vec!["-t", "uns/marker", "-C", "1"];
    args.extend_from_slice(&persistent);
    let sub = Sub::start(&args);
    publish(&["-t", "uns/marker", "-m", "marker", "-q", "1"]);
    assert_eq!(sub.output(), (Some(0), "marker\n".to_owned()));

    // Usage errors.
    for bad in [
        &["sub", "-t", "a", "-F", "%z"][..],
        &["sub", "-t", "a", "-R", "--retained-only"],
        &["sub", "-t", "a", "--pretty"],
        &["pub", "-t", "a", "-m", "x", "--repeat", "0"],
        &["sub", "-t", "a", "-T", "a/#/b"],
    ] {
        assert_fails_with(&mqttc(bad), 2, "");
    }
}

/// stdout of a run that must succeed with nothing on stderr.
fn stdout_of(args: &[&str]) -> String {
    let o = mqttc(args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    assert_eq!(stderr(&o), "", "{args:?}");
    String::from_utf8(o.stdout).unwrap()
}

/// Whether `help` has each of `items`, whatever the line breaks and the alignment.
fn assert_lists(help: &str, items: &[&str]) {
    let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for item in items {
        let item_words = item.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            help.contains(item) || words.contains(&item_words),
            "help lacks {item:?}:\n{help}"
        );
    }
}

/// The exit statuses of CLI.md, as every help page but the script's ends.
const EXIT_STATUSES: &[&str] = &[
    "Exit status:",
    "0  success",
    "1  failure at run time",
    "2  bad usage",
];

#[test]
fn help_is_generated_for_each_subcommand() {
    let top = stdout_of(&["--help"]);
    assert!(
        top.starts_with("mqttc: an MQTT 3.1.1 and 5.0 client"),
        "{top}"
    );
    assert_lists(
        &top,
        &[
            "Usage: mqttc <COMMAND>",
            "pub ",
            "sub ",
            "script ",
            "completions ",
        ],
    );
    assert_lists(&top, &["--help", "--version", "-h is the host"]);
    assert_lists(&top, EXIT_STATUSES);
    // `help` and `-?` are other names for it.
    assert_eq!(stdout_of(&["help"]), top);
    assert_eq!(stdout_of(&["-?"]), top);

    let publish = stdout_of(&["pub", "--help"]);
    assert_lists(
        &publish,
        &[
            "Usage: mqttc pub [OPTIONS] -t TOPIC (-m MSG | -f FILE | -n | -l | -s)",
            "-h, --host <HOST>",
            "-p, --port <PORT>",
            "-L, --url <URL>",
            "-V, --protocol-version <VER>",
            "-i, --id <ID>",
            "-c, --disable-clean-session",
            "-t, --topic <TOPIC>",
            "-q, --qos <0|1|2>",
            "-m, --message <MSG>",
            "-f, --file <FILE>",
            "-n, --null-message",
            "-l, --stdin-line",
            "-s, --stdin-file",
            "-r, --retain",
            "--repeat <N>",
            "--repeat-delay <SECS>",
            "-u, --username <USER>",
            "-P, --pw <PASS>",
            "--pw-file <FILE>",
            "--will-topic <TOPIC>",
            "--cafile <FILE>",
            "--tls-alpn <PROTO>",
            "--insecure",
            "-W <SECS>",
            "-d, --debug",
            "--session-store <DIR>",
            "Connection:",
            "Payload (one of):",
            "Login:",
            "TLS (rustls",
        ],
    );
    // -P is visible to other users; the help says so and names the ways around it.
    let pw = publish.lines().find(|l| l.contains("--pw <PASS>")).unwrap();
    assert!(pw.contains("`ps`"), "{pw}");
    assert_lists(
        &publish,
        &["MQTTC_PASSWORD", "prefer --pw-file or MQTTC_PASSWORD"],
    );
    assert_lists(&publish, EXIT_STATUSES);
    // No option of sub in pub's help.
    for sub_only in [
        "-C <N>",
        "-F <FORMAT>",
        "--retained-only",
        "-T, --filter-out",
    ] {
        assert!(!publish.contains(sub_only), "{sub_only}");
    }
    assert_eq!(stdout_of(&["help", "pub"]), publish);

    let subscribe = stdout_of(&["sub", "--help"]);
    assert_lists(
        &subscribe,
        &[
            "Usage: mqttc sub [OPTIONS] -t FILTER [-t FILTER ...]",
            "-h, --host <HOST>",
            "-V, --protocol-version <VER>",
            "-t, --topic <FILTER>",
            "-C <N>",
            "-v, --verbose",
            "-F <FORMAT>",
            "--pretty",
            "-N ",
            "-R ",
            "--retained-only",
            "--remove-retained",
            "-T, --filter-out <FILTER>",
            "-U, --unsubscribe <FILTER>",
            "-E ",
            "-P, --pw <PASS>",
            "MQTTC_PASSWORD",
            "Output:",
        ],
    );
    assert_lists(&subscribe, EXIT_STATUSES);
    for pub_only in ["-m, --message", "--repeat", "-r, --retain"] {
        assert!(!subscribe.contains(pub_only), "{pub_only}");
    }

    let script = stdout_of(&["script", "--help"]);
    assert_lists(
        &script,
        &[
            "Usage: mqttc script",
            "connect ",
            "publish ",
            "drop ",
            "\"event\":\"message\"",
        ],
    );

    // Laid out for an 80-100 column terminal, whatever the terminal (here: none).
    for page in [&top, &publish, &subscribe, &script] {
        for line in page.lines() {
            assert!(line.chars().count() <= 100, "{line:?}");
        }
    }
}

#[test]
fn version_is_the_crate_version() {
    let v = stdout_of(&["--version"]);
    assert_eq!(v, format!("mqttc {}\n", env!("CARGO_PKG_VERSION")));
}

/// mosquitto's letters: -h is the host and -V the protocol version, not help and version.
#[test]
fn h_is_the_host_and_v_the_protocol_version() {
    let broker = broker();
    let port = broker.port().to_string();
    let sub = Sub::start(&[
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "cli/h",
        "-C",
        "1",
        "-V",
        "5",
    ]);
    let o = mqttc(&[
        "pub",
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "cli/h",
        "-m",
        "via -h",
        "-V",
        "mqttv5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(sub.output(), (Some(0), "via -h\n".to_owned()));
    // The long forms and `--opt=value` work too.
    let sub = Sub::start(&[
        "--host=127.0.0.1",
        "--port",
        &port,
        "-t",
        "cli/h2",
        "-C",
        "1",
    ]);
    let o = mqttc(&[
        "pub",
        "--host",
        "127.0.0.1",
        &format!("--port={port}"),
        "--topic=cli/h2",
        "-m",
        "x",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(sub.output(), (Some(0), "x\n".to_owned()));

    // -h takes a value: alone it is a usage error, not a request for help.
    let o = mqttc(&["pub", "-t", "a", "-m", "x", "-h"]);
    assert_fails_with(&o, 2, "a value is required for '--host <HOST>'");
    assert!(o.stdout.is_empty());
    // -V takes a value, and 3.1 is refused as unsupported.
    let o = mqttc(&["sub", "-t", "a", "-V"]);
    assert_fails_with(&o, 2, "a value is required for '--protocol-version <VER>'");
    assert!(o.stdout.is_empty());
    for v in ["31", "mqttv31"] {
        let o = mqttc(&["pub", "-V", v, "-p", &port, "-t", "a", "-m", "x"]);
        assert_fails_with(&o, 2, "MQTT 3.1 (-V 31) is not supported: use 311 or 5");
    }
    let o = mqttc(&["pub", "-V", "4", "-t", "a", "-m", "x"]);
    assert_fails_with(&o, 2, "must be 5, mqttv5, 311 or mqttv311");
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        for word in [
            "pub",
            "sub",
            "script",
            "completions",
            "session-store",
            "will-topic",
        ] {
            assert!(script.contains(word), "{shell} completions lack {word:?}");
        }
    }
    let bash = stdout_of(&["completions", "bash"]);
    assert!(
        bash.contains("_mqttc()") && bash.contains("complete -F _mqttc"),
        "{bash}"
    );
    // Options of pub are offered after `mqttc pub`, sub's after `mqttc sub`.
    assert!(bash.contains("mqttc__subcmd__pub)") && bash.contains("mqttc__subcmd__sub)"));
    // A script that bash reads without a syntax error (where there is a bash).
    if let Ok(o) = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(bash.as_bytes())?;
            c.wait_with_output()
        })
    {
        assert!(o.status.success(), "bash -n: {}", stderr(&o));
    }
    assert!(stdout_of(&["completions", "zsh"]).starts_with("#compdef mqttc"));
    assert!(stdout_of(&["completions", "fish"]).contains("complete -c mqttc"));

    let o = mqttc(&["completions", "tcsh"]);
    assert_fails_with(&o, 2, "invalid value 'tcsh'");
    let o = mqttc(&["completions"]);
    assert_fails_with(&o, 2, "<SHELL>");
    // A full disk is a failure at run time, reported in one line.
    if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
        let o = Command::new(MQTTC)
            .args(["completions", "bash"])
            .stdout(full)
            .output()
            .unwrap();
        assert_fails_with(&o, 1, "cannot write the completion script");
    }
}

#[test]
fn usage_errors_name_the_option() {
    let o = mqttc(&[]);
    assert_fails_with(
        &o,
        2,
        "usage error: give a subcommand: pub, sub, script or completions",
    );
    let o = mqttc(&["frobnicate"]);
    assert_fails_with(&o, 2, "unrecognized subcommand 'frobnicate'");
    let o = mqttc(&["pub", "-t", "a", "-m", "x", "--nonsense"]);
    assert_fails_with(&o, 2, "usage error: unexpected argument '--nonsense' found");
    assert!(stderr(&o).contains("(see mqttc pub --help)"));
    // A near miss gets a suggestion, on the same line.
    let o = mqttc(&["sub", "-t", "a", "--hots", "x"]);
    assert_fails_with(&o, 2, "did you mean '--host'?");
    // An option of the other subcommand is named as such.
    let o = mqttc(&["sub", "-t", "a", "-m", "x"]);
    assert_fails_with(&o, 2, "-m is an option of mqttc pub, not mqttc sub");
    let o = mqttc(&["pub", "-t", "a", "-m", "x", "--retained-only"]);
    assert_fails_with(
        &o,
        2,
        "--retained-only is an option of mqttc sub, not mqttc pub",
    );
    // Values are checked where they are parsed.
    let o = mqttc(&["pub", "-t", "a", "-m", "x", "-q", "3"]);
    assert_fails_with(
        &o,
        2,
        "invalid value '3' for '--qos <0|1|2>': must be 0, 1 or 2",
    );
    let o = mqttc(&["pub", "-t", "a", "-p", "-1", "-m", "x"]);
    assert_fails_with(&o, 2, "invalid value '-1' for '--port <PORT>'");
    let o = mqttc(&["sub", "-t", "a", "-C", "0"]);
    assert_fails_with(
        &o,
        2,
        "invalid value '0' for '-C <N>': needs a positive whole number",
    );
    // Options that exclude or need each other.
    let o = mqttc(&["pub", "-t", "a", "-m", "x", "-n"]);
    assert_fails_with(&o, 2, "cannot be used with");
    let o = mqttc(&["sub", "-t", "a", "--pretty"]);
    assert_fails_with(&o, 2, "required arguments were not provided: -F <FORMAT>");
    // Checks across options keep their words.
    let o = mqttc(&["pub", "-t", "a", "-t", "b", "-m", "x"]);
    assert_fails_with(&o, 2, "mqttc pub needs exactly one -t TOPIC");
    let o = mqttc(&["pub", "-t", "a", "-m", "x", "-c"]);
    assert_fails_with(
        &o,
        2,
        "-c (persistent session) needs a client id: give -i ID",
    );
    // A value may start with a dash.
    let broker = broker();
    let port = broker.port().to_string();
    let sub = Sub::start(&["-p", &port, "-t", "cli/dash", "-C", "1"]);
    let o = mqttc(&["pub", "-p", &port, "-t", "cli/dash", "-m", "-5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(sub.output(), (Some(0), "-5\n".to_owned()));
}
