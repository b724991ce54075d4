//! Print the codec comparison as a Markdown table from criterion's results
//! (`target/criterion/<group>/<function>/<baseline>/estimates.json`): median time per
//! stream, GB/s, packets/s, and each function's speed relative to the fastest peer.
//!
//! `cargo run --release --bin codec-table [--dir CRITERION_DIR] [--baselines r1,r2,r3]`
//!
//! With several baselines (runs saved with `--save-baseline NAME`), each function's time is
//! the median over the runs of criterion's median: on a shared machine the load changes
//! from one function to the next, and rounds of short runs spread that out.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mqtt_bench::codec::STREAM;
use serde_json::Value;

const OURS: [&str; 2] = ["mqtt-proto", "mqtt-proto-bytes"];
const PEERS: [&str; 2] = ["rumqttc", "mqttrs"];
const STREAMS: [&str; 3] = ["publish-qos1-100B", "publish-qos1-1KiB", "mixed-acks"];

struct Result {
    median_ns: f64,
    bytes: f64,
}

fn read_json(path: &Path) -> std::result::Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn load(
    dir: &Path,
    group: &str,
    function: &str,
    baselines: &[String],
) -> std::result::Result<Result, String> {
    let base = dir.join(group).join(function);
    let mut times = Vec::new();
    for b in baselines {
        let estimates = read_json(&base.join(b).join("estimates.json"))?;
        times.push(
            estimates["median"]["point_estimate"]
                .as_f64()
                .ok_or_else(|| format!("{}/{b}: no median", base.display()))?,
        );
    }
    let benchmark = read_json(&base.join("new").join("benchmark.json"))?;
    let bytes = benchmark["throughput"]["Bytes"]
        .as_f64()
        .ok_or_else(|| format!("{}: no byte throughput", base.display()))?;
    Ok(Result {
        median_ns: median(times),
        bytes,
    })
}

fn main() -> ExitCode {
    let mut dir = PathBuf::from("target/criterion");
    let mut baselines = vec!["new".to_string()];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--dir", Some(v)) => dir = PathBuf::from(v),
            ("--baselines", Some(v)) => baselines = v.split(',').map(str::to_string).collect(),
            _ => {
                eprintln!("usage: codec-table [--dir CRITERION_DIR] [--baselines r1,r2,...]");
                return ExitCode::from(2);
            }
        }
    }
    let mut failed = false;
    println!(
        "| operation | stream | library | time / 1,000 packets | GB/s | Mpackets/s | vs fastest peer |"
    );
    println!("|---|---|---|---:|---:|---:|---:|");
    for op in ["decode", "encode"] {
        for stream in STREAMS {
            let group = format!("{op}-{stream}");
            let mut rows = Vec::new();
            for f in OURS.iter().chain(PEERS.iter()) {
                match load(&dir, &group, f, &baselines) {
                    Ok(r) => rows.push((*f, r)),
                    Err(e) => {
                        eprintln!("codec-table: {e}");
                        failed = true;
                    }
                }
            }
            let fastest_peer = rows
                .iter()
                .filter(|(f, _)| PEERS.contains(f))
                .map(|(_, r)| r.median_ns)
                .fold(f64::INFINITY, f64::min);
            for (f, r) in &rows {
                let gbps = r.bytes / r.median_ns;
                let mpps = STREAM as f64 / r.median_ns * 1e3;
                let ratio = fastest_peer / r.median_ns;
                println!(
                    "| {op} | {stream} | {f} | {:.1} µs | {gbps:.2} | {mpps:.1} | {ratio:.2}× |",
                    r.median_ns / 1e3
                );
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
