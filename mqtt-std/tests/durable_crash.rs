//! Crash test of the durable session store against a private Mosquitto.
//!
//! A publisher process sends numbered messages (odd numbers QoS 1, even numbers QoS 2) over a
//! client with a [`FileStore`](mqtt_std::store::FileStore); a subscriber process with clean
//! session off and a store of its own appends every message it gets to a file. Both are killed
//! with SIGKILL at moments drawn from a seeded generator (the seed is printed; set
//! `CRASH_SEED` to replay a run) and restarted on the same stores. In the end the file must
//! hold every QoS 1 number at least once and every QoS 2 number exactly once.
//!
//! Both stores compact their logs every few dozen messages, so kills also land in the middle
//! of compactions.
//!
//! The subscriber is the kind of application the store's docs describe: it writes each
//! message's store number with it, and skips a number it already has (the message it was
//! handling when it was killed is handed out again after the restart).
//!
//! This file is its own test harness (`harness = false`): run with `pub` or `sub` as the
//! first argument it is one of the two processes.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mqtt_std::store::FileStoreOptions;
use mqtt_std::{Client, ClientOptions, ConnectOptions, Error, QoS};
use mqtt_test_broker::Broker;

/// Messages the publisher sends in all.
const TOTAL: u64 = 400;
/// Publisher kills the test makes at least.
const MIN_PUB_KILLS: u32 = 20;
const TOPIC: &str = "crash/n";

fn qos_of(n: u64) -> QoS {
    if n % 2 == 1 {
        QoS::AtLeastOnce
    } else {
        QoS::ExactlyOnce
    }
}

/// Compaction every few dozen messages, so that kills land in compactions too.
fn small_log() -> FileStoreOptions {
    FileStoreOptions {
        compact_at: 4096,
        ..FileStoreOptions::default()
    }
}

fn connect(client: &Client, port: u16) -> Result<(), Error> {
    let options = ConnectOptions::default()
        .clean_session(false)
        .keep_alive(30)
        .wait(Duration::from_secs(10));
    // The broker may still hold the killed process's connection: it takes the session over.
    client.connect("127.0.0.1", port, &options).map(|_| ())
}

/// The publisher: goes on from the number its store says was accepted last, up to `limit`.
/// Below [`TOTAL`], it then waits to be killed; at `TOTAL`, it waits for every flow to
/// complete and exits.
fn publisher(store: &Path, port: u16, limit: u64) -> Result<(), Error> {
    let client = Client::new(
        ClientOptions::new("crash-pub")
            .max_queued_publishes(64)
            .session_store_with(store, small_log()),
    )?;
    connect(&client, port)?;
    let mut next = client.accepted_publishes().unwrap_or(0) + 1;
    while next <= limit {
        match client.publish(TOPIC, next.to_string().as_bytes(), qos_of(next), false) {
            Ok(_) => next += 1,
            Err(Error::WindowFull) => thread::sleep(Duration::from_millis(1)),
            Err(e) => return Err(e),
        }
        // A steady pace, so that the kills land in every phase of the flows.
        thread::sleep(Duration::from_millis(2));
    }
    if limit < TOTAL {
        // This life's share is sent; its flows may still be under way when the kill comes.
        loop {
            thread::sleep(Duration::from_secs(1));
        }
    }
    while client.publishes_in_flight() > 0 {
        if !client.is_connected() {
            return Err(Error::NotConnected);
        }
        thread::sleep(Duration::from_millis(2));
    }
    client.disconnect()?;
    client.close();
    Ok(())
}

/// Lines `seq number` of the subscriber's record, without a torn last line (which is cut).
fn read_record(path: &Path) -> Vec<(u64, u64)> {
    let Ok(bytes) = fs::read(path) else {
        return Vec::new();
    };
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if whole < bytes.len() {
        let f = OpenOptions::new().write(true).open(path).unwrap();
        f.set_len(whole as u64).unwrap();
    }
    String::from_utf8_lossy(&bytes[..whole])
        .lines()
        .map(|l| {
            let (a, b) = l.split_once(' ').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect()
}

/// The subscriber: records `seq number` per message, skipping store numbers it already has;
/// exits once it has every number.
fn subscriber(store: &Path, port: u16, record: &Path) -> Result<(), Error> {
    let had = read_record(record);
    let mut last_seq = had.iter().map(|&(s, _)| s).max().unwrap_or(0);
    let mut seen: std::collections::BTreeSet<u64> = had.iter().map(|&(_, n)| n).collect();
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(record)
        .unwrap();
    let client =
        Client::new(ClientOptions::new("crash-sub").session_store_with(store, small_log()))?;
    connect(&client, port)?;
    client.subscribe(&[("crash/#", QoS::ExactlyOnce)])?.wait()?;
    println!("ready");
    while seen.len() < TOTAL as usize {
        let m = client.recv_timeout(Duration::from_secs(30))?;
        let seq = m.seq.expect("QoS 1/2 messages carry their store number");
        if seq <= last_seq {
            continue; // handled before the last kill
        }
        let n: u64 = String::from_utf8_lossy(&m.payload).parse().unwrap();
        // One write per line: a kill lands before or after it.
        out.write_all(format!("{seq} {n}\n").as_bytes()).unwrap();
        last_seq = seq;
        seen.insert(n);
    }
    client.disconnect()?;
    client.close();
    Ok(())
}

/// xorshift64*: the kill schedule's generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Peer {
    role: &'static str,
    args: Vec<String>,
    child: Option<Child>,
    kills: u32,
    starts: u32,
}

impl Peer {
    fn start(&mut self) -> mpsc::Receiver<String> {
        let exe = std::env::current_exe().unwrap();
        let mut child = Command::new(exe)
            .arg(self.role)
            .args(&self.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        self.child = Some(child);
        self.starts += 1;
        rx
    }

    /// Kills the process if it is still running; returns whether it was.
    fn kill(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        if child.try_wait().unwrap().is_some() {
            self.child = Some(child);
            return false;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        self.kills += 1;
        true
    }

    fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    fn wait_exit(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let Some(child) = self.child.as_mut() else {
            return false;
        };
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("mqtt-std-crash-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn crash_test() {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("durable_crash: seed {seed} (CRASH_SEED={seed} replays the kill schedule)");
    let mut rng = Rng(seed);
    let broker = Broker::start().unwrap_or_else(|e| panic!("{e}"));
    let port = broker.port().to_string();
    let dir = temp_dir();
    let record = dir.join("received.txt");
    let started = Instant::now();

    let mut sub = Peer {
        role: "sub",
        args: vec![
            dir.join("sub-store").display().to_string(),
            port.clone(),
            record.display().to_string(),
        ],
        child: None,
        kills: 0,
        starts: 0,
    };
    let mut publ = Peer {
        role: "pub",
        args: vec![
            dir.join("pub-store").display().to_string(),
            port,
            String::new(),
        ],
        child: None,
        kills: 0,
        starts: 0,
    };
    // The subscription exists before the first message.
    let ready = sub.start();
    assert_eq!(
        ready.recv_timeout(Duration::from_secs(20)).as_deref(),
        Ok("ready")
    );
    // Each life of the publisher may go a little further than the last (so that it cannot
    // finish early however fast the machine is) and is killed at a random moment: while it
    // publishes, while flows are under way, or once they are complete. The subscriber is
    // killed at some of those moments too.
    for life in 0..MIN_PUB_KILLS {
        publ.args[2] = (TOTAL * u64::from(life + 1) / u64::from(MIN_PUB_KILLS + 1)).to_string();
        publ.start();
        thread::sleep(Duration::from_millis(5 + rng.below(60)));
        if rng.below(3) == 0 {
            sub.kill();
            sub.start();
            thread::sleep(Duration::from_millis(rng.below(30)));
        }
        assert!(publ.kill(), "the publisher exited before its kill");
    }
    // The last life publishes the rest; then both finish: the publisher once all its flows
    // are complete, the subscriber once it has every number.
    publ.args[2] = TOTAL.to_string();
    publ.start();
    assert!(
        publ.wait_exit(Duration::from_secs(30)),
        "publisher did not finish"
    );
    if !sub.running() {
        sub.start();
    }
    assert!(
        sub.wait_exit(Duration::from_secs(30)),
        "subscriber did not get every number"
    );

    let lines = read_record(&record);
    let mut count: BTreeMap<u64, u32> = BTreeMap::new();
    for &(_, n) in &lines {
        *count.entry(n).or_default() += 1;
    }
    let lost: Vec<u64> = (1..=TOTAL).filter(|n| !count.contains_key(n)).collect();
    let dup_qos2: Vec<u64> = count
        .iter()
        .filter(|&(&n, &c)| qos_of(n) == QoS::ExactlyOnce && c > 1)
        .map(|(&n, _)| n)
        .collect();
    let dup_qos1 = count
        .iter()
        .filter(|&(&n, &c)| qos_of(n) == QoS::AtLeastOnce && c > 1)
        .count();
    let unknown: Vec<u64> = count.keys().copied().filter(|&n| n > TOTAL).collect();
    println!(
        "durable_crash: seed {seed}: {TOTAL} messages ({} QoS 1, {} QoS 2), publisher killed {} \
         times, subscriber killed {} times, {} lines recorded; lost {}, QoS 2 duplicated {}, \
         QoS 1 duplicated {dup_qos1}; {:.1} s",
        TOTAL.div_ceil(2),
        TOTAL / 2,
        publ.kills,
        sub.kills,
        lines.len(),
        lost.len(),
        dup_qos2.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(lost.is_empty(), "lost: {lost:?}");
    assert!(dup_qos2.is_empty(), "QoS 2 delivered twice: {dup_qos2:?}");
    assert!(unknown.is_empty(), "unknown numbers: {unknown:?}");
    assert!(publ.kills >= MIN_PUB_KILLS);
    let _ = fs::remove_dir_all(&dir);
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("pub") => publisher(
            Path::new(&args[1]),
            args[2].parse().unwrap(),
            args[3].parse().unwrap(),
        ),
        Some("sub") => subscriber(
            Path::new(&args[1]),
            args[2].parse().unwrap(),
            Path::new(&args[3]),
        ),
        _ if args.iter().any(|a| a == "--list") => {
            println!("crash_test: test");
            return ExitCode::SUCCESS;
        }
        _ => {
            crash_test();
            println!("test crash_test ... ok");
            return ExitCode::SUCCESS;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("durable_crash {}: {e}", args[0]);
            ExitCode::FAILURE
        }
    }
}
