//! The deterministic simulation (see `conformance::sim`): the session against the reference
//! broker model over a network that cuts, delays and splits, for many seeds; at 3.1.1 here, at
//! 5.0 in `sim/v5.rs`.
//!
//! - `cargo test -p conformance --test sim` runs seeds 0..1000 at 3.1.1 and 0..3000 at 5.0;
//! - `SIM_SEEDS=20000` runs more, `SIM_SEED_START=5000` starts elsewhere;
//! - `SIM_SEED=1234` replays one seed and prints its trace if it fails (add the test's name,
//!   `sim_many` or `sim_5`, to run one version).

use std::collections::BTreeMap;
use std::ops::Range;

use conformance::checks;
use conformance::sim;

#[path = "sim/v5.rs"]
mod v5;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// The seeds to run (`count` unless `SIM_SEEDS` says), and whether to trace them (one seed
/// replayed).
fn seeds(count: u64) -> (Range<u64>, bool) {
    match env_u64("SIM_SEED") {
        Some(seed) => (seed..seed + 1, true),
        None => {
            let start = env_u64("SIM_SEED_START").unwrap_or(0);
            (start..start + env_u64("SIM_SEEDS").unwrap_or(count), false)
        }
    }
}

/// Runs `seeds` with `run`: the sum of the figures, the ends by reason, the failures.
fn run_all(
    seeds: Range<u64>,
    trace: bool,
    run: fn(u64, bool) -> Result<sim::Stats, sim::Failure>,
) -> (sim::Stats, BTreeMap<String, usize>, Vec<sim::Failure>) {
    let mut failures = Vec::new();
    let mut total = sim::Stats::default();
    let mut ends: BTreeMap<String, usize> = BTreeMap::new();
    for seed in seeds {
        match run(seed, trace) {
            Ok(s) => {
                for q in 0..3 {
                    total.published[q] += s.published[q];
                }
                total.connections += s.connections;
                total.cuts += s.cuts;
                total.restarts += s.restarts;
                total.resends += s.resends;
                total.dup_on_first_write += s.dup_on_first_write;
                total.broker_duplicates += s.broker_duplicates;
                total.app_duplicates += s.app_duplicates;
                total.virtual_ms += s.virtual_ms;
                v5::add(&mut total.v5, &s.v5);
                for (k, v) in s.client_ends {
                    *ends.entry(k).or_default() += v;
                }
            }
            Err(f) => failures.push(f),
        }
    }
    (total, ends, failures)
}

/// Prints the first failures with their replay line and trace; fails if there is any.
fn report_failures(failures: &[sim::Failure], count: u64, test: &str) {
    for f in failures.iter().take(20) {
        println!(
            "FAILED seed {}: {}\n  replay: SIM_SEED={} cargo test -p conformance --test sim {test}",
            f.seed, f.reason, f.seed
        );
        if !f.trace.is_empty() {
            println!("{}", f.trace);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} seeds failed; first: seed {} ({})",
        failures.len(),
        failures[0].seed,
        failures[0].reason
    );
}

#[test]
fn sim_many_seeds_deliver_once_in_order_with_unique_ids() {
    checks![
        "MQTT-2.3.1-2",
        "MQTT-2.3.1-3",
        "MQTT-2.3.1-6",
        "MQTT-3.1.0-1",
        "MQTT-3.1.2-4",
        "MQTT-3.1.2-23",
        "MQTT-3.3.1-1",
        "MQTT-3.3.4-1",
        "MQTT-3.14.4-2",
        "MQTT-4.1.0-1",
        "MQTT-4.3.2-1",
        "MQTT-4.3.2-2",
        "MQTT-4.3.3-1",
        "MQTT-4.3.3-2",
        "MQTT-4.4.0-1",
        "MQTT-4.6.0-1",
        "MQTT-4.6.0-2",
        "MQTT-4.6.0-3",
        "MQTT-4.6.0-4",
        "MQTT-7.1.2-1"
    ];
    let (seeds, trace) = seeds(1000);
    let count = seeds.end - seeds.start;
    let (total, ends, failures) = run_all(seeds, trace, sim::run);
    println!(
        "simulated {count} seeds: published QoS0/1/2 = {:?}, {} connections, {} cuts, {} restarts, {} resends \
         (DUP=1), {} QoS 1 duplicates at the broker and {} at the application, \
         {} DUP=1 first writes, {:.0} virtual s\nconnections ended by the client: {ends:?}",
        total.published,
        total.connections,
        total.cuts,
        total.restarts,
        total.resends,
        total.broker_duplicates,
        total.app_duplicates,
        total.dup_on_first_write,
        total.virtual_ms as f64 / 1000.0
    );
    report_failures(&failures, count, "sim_many");
}
