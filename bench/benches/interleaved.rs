//! The codec comparison of `compare.rs` measured interleaved, for a machine shared with other
//! work: in each round every function runs a short burst, in an order that rotates from round
//! to round, so that a change of load hits all the libraries alike. Each burst times every
//! iteration on its own (setup, such as refilling a `BytesMut`, is outside the timed part)
//! and keeps the burst's median; a function's time is the median over the rounds, and its
//! ratio to the fastest peer is the median of the per-round ratios.
//!
//! `cargo bench --bench interleaved [-- ROUNDS]` (default 60 rounds, well under a minute).
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use common::*;
use mqtt_bench::codec::STREAM;

const LIBS: [&str; 4] = ["mqtt-proto", "mqtt-proto-bytes", "rumqttc", "mqttrs"];
const PEERS: [usize; 2] = [2, 3];
const BURST: usize = 15;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median of `BURST` timed runs of `op`, each after an untimed `setup`, in ns.
fn burst<S>(mut setup: impl FnMut() -> S, mut op: impl FnMut(&mut S) -> usize) -> f64 {
    let mut s = setup();
    black_box(op(&mut s)); // warm
    let mut times = [0f64; BURST];
    for t in &mut times {
        let mut s = setup();
        let start = Instant::now();
        black_box(op(&mut s));
        *t = start.elapsed().as_nanos() as f64;
    }
    median(&mut times)
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(60);
    let cases = cases();
    let decoder = mqtt_proto::Decoder::new();
    let streams: Vec<Vec<u8>> = cases.iter().map(|c| checked_stream(c, &decoder)).collect();
    let largest = streams.iter().map(Vec::len).max().unwrap_or(0);
    let mut bm = BytesMut::with_capacity(largest);
    let mut out = vec![0u8; largest];

    // times[op][case][lib] = one entry per round.
    let mut times = vec![vec![vec![Vec::with_capacity(rounds); LIBS.len()]; cases.len()]; 2];
    for round in 0..rounds {
        for (ci, case) in cases.iter().enumerate() {
            let stream = &streams[ci];
            for k in 0..LIBS.len() {
                let lib = (k + round) % LIBS.len();
                let d = match lib {
                    0 => burst(|| (), |_| decode_ours(&decoder, black_box(stream)).0),
                    1 => burst(
                        || BytesMut::from(&stream[..]),
                        |b| decode_ours_bytes(&decoder, b).0,
                    ),
                    2 => burst(|| BytesMut::from(&stream[..]), |b| decode_rumqttc(b).0),
                    _ => burst(|| (), |_| decode_mqttrs(black_box(stream)).0),
                };
                times[0][ci][lib].push(d);
                let e = match lib {
                    0 => burst(|| (), |_| encode_ours(black_box(&case.ours), &mut out)),
                    1 => burst(|| (), |_| encode_ours_bytes(black_box(&case.ours), &mut bm)),
                    2 => burst(|| (), |_| encode_rumqttc(black_box(&case.rumqttc), &mut bm)),
                    _ => burst(|| (), |_| encode_mqttrs(black_box(&case.mqttrs), &mut out)),
                };
                times[1][ci][lib].push(e);
            }
        }
    }

    println!("Interleaved: {rounds} rounds of {BURST} timed iterations per function; medians.");
    println!();
    println!(
        "| operation | stream | library | time / 1,000 packets | GB/s | Mpackets/s | vs fastest peer |"
    );
    println!("|---|---|---|---:|---:|---:|---:|");
    for (oi, op) in ["decode", "encode"].iter().enumerate() {
        for (ci, case) in cases.iter().enumerate() {
            let len = streams[ci].len() as f64;
            let per_round = &times[oi][ci];
            for (li, lib) in LIBS.iter().enumerate() {
                let mut ratios: Vec<f64> = (0..rounds)
                    .map(|r| {
                        let peer = PEERS
                            .iter()
                            .map(|&p| per_round[p][r])
                            .fold(f64::INFINITY, f64::min);
                        peer / per_round[li][r]
                    })
                    .collect();
                let ratio = median(&mut ratios);
                let t = median(&mut per_round[li].clone());
                println!(
                    "| {op} | {} | {lib} | {:.1} µs | {:.2} | {:.1} | {ratio:.2}× |",
                    case.name,
                    t / 1e3,
                    len / t,
                    STREAM as f64 / t * 1e3,
                );
            }
        }
    }
}
