//! Publish throughput with and without the durable session store, against a private Mosquitto
//! (the `mqtt-test-broker` harness, so Mosquitto must be installed).
//!
//! ```text
//! cargo run --release -p mqtt-std --example store_throughput -- [MESSAGES] [ROUNDS]
//! ```
//!
//! Each round publishes MESSAGES messages of 32 bytes at QoS 1 and at QoS 2 with an in-flight
//! window of 16 and a queue of 1,024 behind it, and times the first `publish` to the last
//! PUBACK/PUBCOMP, for three stores: in memory, a `FileStore` (one `fdatasync` per batch of
//! acknowledgements, before the next write to the socket), and a `FileStore` with
//! `sync_on_publish` (one more `fdatasync` in every `publish`). The modes take turns within a
//! round so that a change in the machine's load hits them alike; the median of the rounds is
//! printed.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mqtt_std::store::FileStoreOptions;
use mqtt_std::{Client, ClientOptions, ConnectOptions, Error, Pending, QoS};
use mqtt_test_broker::Broker;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Memory,
    Store,
    StoreSyncEachPublish,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Memory => "in memory",
            Mode::Store => "FileStore",
            Mode::StoreSyncEachPublish => "FileStore, sync_on_publish",
        }
    }
}

fn store_dir(round: usize, mode: Mode) -> PathBuf {
    std::env::temp_dir().join(format!(
        "mqtt-std-store-bench-{}-{round}-{mode:?}",
        std::process::id()
    ))
}

/// Messages per second for one run.
fn run(broker: &Broker, mode: Mode, qos: QoS, messages: u32, round: usize) -> f64 {
    let id = format!("bench-{}-{round}-{mode:?}-{qos:?}", std::process::id());
    let mut options = ClientOptions::new(id).max_queued_publishes(1024);
    let dir = store_dir(round, mode);
    let _ = std::fs::remove_dir_all(&dir);
    match mode {
        Mode::Memory => {}
        Mode::Store => options = options.session_store(&dir),
        Mode::StoreSyncEachPublish => {
            options = options.session_store_with(
                &dir,
                FileStoreOptions {
                    sync_on_publish: true,
                    ..FileStoreOptions::default()
                },
            );
        }
    }
    let client = Client::new(options).unwrap();
    client
        .connect(
            "127.0.0.1",
            broker.port(),
            &ConnectOptions::default().clean_session(false),
        )
        .unwrap();
    let payload = [0x5au8; 32];
    let start = Instant::now();
    let mut pending: std::collections::VecDeque<Pending<()>> = Default::default();
    for _ in 0..messages {
        loop {
            match client.publish("bench/store", &payload, qos, false) {
                Ok(p) => {
                    pending.push_back(p);
                    break;
                }
                Err(Error::WindowFull) => {
                    pending.pop_front().unwrap().wait().unwrap();
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
    for p in pending {
        p.wait().unwrap();
    }
    let rate = f64::from(messages) / start.elapsed().as_secs_f64();
    client.disconnect().unwrap();
    client.close();
    let _ = std::fs::remove_dir_all(&dir);
    rate
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let messages: u32 = args.next().map_or(20_000, |a| a.parse().unwrap());
    let rounds: usize = args.next().map_or(5, |a| a.parse().unwrap());
    let broker = Broker::start().unwrap_or_else(|e| panic!("{e}"));
    let modes = [Mode::Memory, Mode::Store, Mode::StoreSyncEachPublish];
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let mut rates = vec![Vec::new(); modes.len()];
        for round in 0..rounds {
            for (i, &mode) in modes.iter().enumerate() {
                // sync_on_publish is slow: a tenth of the messages is enough to measure it.
                let n = if mode == Mode::StoreSyncEachPublish {
                    (messages / 10).max(100)
                } else {
                    messages
                };
                rates[i].push(run(&broker, mode, qos, n, round));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for (i, mode) in modes.iter().enumerate() {
            let r = rates[i].clone();
            let (lo, hi) = r
                .iter()
                .fold((f64::MAX, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
            println!(
                "{qos:?} {:<28} median {:>8.0} msg/s  (min {:.0}, max {:.0}, {} rounds)",
                mode.name(),
                median(r),
                lo,
                hi,
                rounds
            );
        }
    }
}
