//! Reopening a durable session store whose last write was torn: a log of `LOG` MiB whose
//! last `TORN` MiB are the start of a batch cut short (a kill or power cut in the middle of
//! writing a large message with a pseudo-random payload). Prints the time of each reopen and the median.
//!
//! ```text
//! cargo bench -p mqtt-std --bench store_reopen                  # 256 MiB log, 64 MiB torn
//! STORE_BENCH_LOG_MIB=16 STORE_BENCH_TORN_MIB=2 cargo bench -p mqtt-std --bench store_reopen
//! ```
//!
//! Run as a test (`cargo test --benches`) it uses a 2 MiB log with a 1 MiB torn tail, once.
#![allow(clippy::unwrap_used)]

use std::fs::OpenOptions;
use std::time::{Duration, Instant};

use mqtt_session::{Outgoing, OutgoingState, Store};
use mqtt_std::store::{FileStore, FileStoreOptions, LOG_FILE};
use mqtt_std::{PacketId, QoS};

fn env_mib(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (log_mib, torn_mib, runs) = if bench {
        (
            env_mib("STORE_BENCH_LOG_MIB", 256),
            env_mib("STORE_BENCH_TORN_MIB", 64),
            5,
        )
    } else {
        (2, 1, 1)
    };
    let whole_mib = log_mib.saturating_sub(torn_mib);
    let dir = std::env::temp_dir().join(format!("mqtt-store-reopen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = FileStoreOptions {
        // No compaction: the log keeps its length.
        compact_at: u64::MAX,
        ..FileStoreOptions::default()
    };
    let payload = vec![0x5a; 1 << 20];
    let whole_len = {
        let mut s = FileStore::open_with(&dir, options).unwrap();
        let id = PacketId::new(1).unwrap();
        let message = |payload: &'static [u8]| Outgoing {
            packet_id: id,
            qos: QoS::AtLeastOnce,
            retain: false,
            state: OutgoingState::Publish,
            topic: "bench/reopen",
            payload,
            properties: &[],
            expires: None,
        };
        let payload: &'static [u8] = payload.leak();
        // Whole batches: 1 MiB publishes, each acknowledged.
        while s.log_len() < whole_mib << 20 {
            s.push_outgoing(&message(payload)).unwrap();
            s.remove_outgoing(id);
            s.sync().unwrap();
        }
        let whole = s.log_len();
        // The torn one: a message twice the torn length, cut in the middle. Its payload is
        // pseudo-random, as compressed or encrypted data is.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let big: Vec<u8> = (0..(torn_mib as usize) << 21)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let big: &'static [u8] = big.leak();
        s.push_outgoing(&message(big)).unwrap();
        drop(s);
        whole
    };
    let log = dir.join(LOG_FILE);
    let cut = whole_len + (torn_mib << 20);
    let f = OpenOptions::new().write(true).open(&log).unwrap();
    f.set_len(cut).unwrap();
    // The process died while writing the big batch, before its sync: the file header's
    // synced slot (format 2) still says where the whole batches end.
    if std::fs::read(&log).unwrap().starts_with(b"MQTTSES\x02") {
        use std::os::unix::fs::FileExt as _;
        let mut slot = [0u8; 16];
        slot[..8].copy_from_slice(&whole_len.to_le_bytes());
        let crc = crc32fast::hash(&slot[..8]);
        slot[8..12].copy_from_slice(&crc.to_le_bytes());
        f.write_all_at(&slot, 8).unwrap();
    }
    drop(f);
    let mut times = Vec::new();
    for run in 0..runs {
        // Each run reopens the same torn log (the open cuts the tail: it is put back after).
        let _ = run;
        let bytes = std::fs::read(&log).unwrap();
        let start = Instant::now();
        let s = FileStore::open_with(&dir, options).unwrap();
        let took = start.elapsed();
        assert_eq!(s.outgoing_len(), 0);
        assert_eq!(s.log_len(), whole_len);
        drop(s);
        std::fs::write(&log, &bytes).unwrap();
        println!(
            "reopen: log {} MiB, torn tail {} MiB: {:.3} s",
            cut >> 20,
            torn_mib,
            took.as_secs_f64()
        );
        times.push(took);
    }
    times.sort();
    let median = times
        .get(times.len() / 2)
        .copied()
        .unwrap_or(Duration::ZERO);
    println!(
        "reopen median of {runs}: {:.3} s (log {} MiB, torn tail {torn_mib} MiB)",
        median.as_secs_f64(),
        cut >> 20
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
