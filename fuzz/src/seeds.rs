//! The seed corpus of the structured targets, generated from the byte vectors.
//!
//! `corpus/decode/seed-vec-*` are the exact-byte vectors of `mqtt-proto/tests/vectors.rs`
//! (and `seed-bad-*` its malformed vectors from `tests/malformed.rs`). The `roundtrip` seeds are
//! the same packets in that target's input form, and the `session` seeds are scripted
//! scenarios (see `session::scripts`). This test checks that the committed seeds are exactly
//! what these generators produce; run it with `MQTT_FUZZ_WRITE_SEEDS=1` to rewrite them after
//! changing an input format.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use mqtt_proto::Decoder;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `(name, bytes)` of the decode vectors.
pub(crate) fn decode_vectors() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let dir = root().join("corpus/decode");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("seed-vec-"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in names {
        let bytes = fs::read(dir.join(&name)).unwrap_or_default();
        out.push((name.trim_start_matches("seed-vec-").to_owned(), bytes));
    }
    out
}

fn roundtrip_seeds() -> BTreeMap<String, Vec<u8>> {
    let mut seeds = BTreeMap::new();
    for (name, bytes) in decode_vectors() {
        let mut rest = &bytes[..];
        let mut i = 0;
        while let Ok(Some((packet, used))) = Decoder::new().decode(rest) {
            let seed = crate::roundtrip::write(&packet);
            // The seed reads back as the same packet.
            let mut u = arbitrary::Unstructured::new(&seed);
            let input = <crate::roundtrip::Input as arbitrary::Arbitrary>::arbitrary(&mut u)
                .expect("a seed reads back");
            assert!(!input.raw);
            let again = crate::roundtrip::write_spec_packet(&input.spec);
            assert_eq!(again.as_deref(), Some(&seed[..]), "{name}: {packet:?}");
            seeds.insert(format!("seed-{name}-{i}"), seed);
            i += 1;
            rest = &rest[used..];
        }
    }
    seeds
}

fn check_or_write(target: &str, seeds: &BTreeMap<String, Vec<u8>>) {
    let dir = root().join("corpus").join(target);
    let write = std::env::var_os("MQTT_FUZZ_WRITE_SEEDS").is_some();
    let existing: Vec<String> = fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("seed-"))
                .collect()
        })
        .unwrap_or_default();
    if write {
        fs::create_dir_all(&dir).expect("corpus dir");
        for name in &existing {
            if !seeds.contains_key(name) {
                fs::remove_file(dir.join(name)).expect("remove a stale seed");
            }
        }
        for (name, bytes) in seeds {
            fs::write(dir.join(name), bytes).expect("write a seed");
        }
        return;
    }
    assert!(!seeds.is_empty());
    for (name, bytes) in seeds {
        let on_disk = fs::read(dir.join(name)).unwrap_or_default();
        assert_eq!(
            &on_disk, bytes,
            "corpus/{target}/{name} is stale: run MQTT_FUZZ_WRITE_SEEDS=1 cargo test"
        );
    }
    for name in existing {
        assert!(
            seeds.contains_key(&name),
            "corpus/{target}/{name} is not generated any more"
        );
    }
}

#[test]
fn roundtrip_seeds_are_the_vectors() {
    check_or_write("roundtrip", &roundtrip_seeds());
}

#[test]
fn session_seeds_are_the_scripts() {
    let seeds = crate::session::scripts::all(&decode_vectors())
        .into_iter()
        .map(|(name, bytes)| (format!("seed-{name}"), bytes))
        .collect();
    check_or_write("session", &seeds);
}
