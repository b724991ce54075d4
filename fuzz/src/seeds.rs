//! The seed corpus of the structured targets, generated from the byte vectors.
//!
//! `corpus/decode/seed-vec-*` are the exact-byte vectors of `mqtt-proto/tests/vectors.rs`
//! (and `seed-bad-*` its malformed vectors from `tests/malformed.rs`). The `roundtrip` seeds are
//! the same packets in that target's input form, and the `session` seeds are scripted
//! scenarios (see `session::scripts`). The 5.0 seeds (`seed-v5-*` in `decode` and `roundtrip`)
//! are the samples of `roundtrip_v5::samples`: encoded after the selector byte for `decode`
//! (alone, all in one stream, and a few malformed streams), in the input form for `roundtrip`. This test checks that the committed seeds are exactly
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
    for (name, spec) in crate::roundtrip_v5::samples() {
        let seed = crate::roundtrip_v5::write(&spec);
        // The seed reads back as the same spec, in the default mode of the 5.0 half.
        let (&tag, rest) = seed.split_first().expect("a tag byte");
        assert_eq!(tag & (crate::roundtrip::V5 | 0x80), crate::roundtrip::V5);
        let mut u = arbitrary::Unstructured::new(rest);
        let again = crate::roundtrip_v5::read(&mut crate::input::In::new(&mut u), tag);
        assert_eq!(again, spec, "{name}");
        seeds.insert(format!("seed-v5-{name}"), seed);
    }
    seeds
}

/// Malformed 5.0 streams for the `decode` seeds: each breaks one rule of the 5.0 format.
const V5_MALFORMED: &[(&str, &[u8])] = &[
    // A Topic Alias twice in one PUBLISH (section 2.2.2.2: a Protocol Error).
    (
        "bad-duplicate-topic-alias",
        &[
            0x30, 0x0A, 0x00, 0x01, b'a', 0x06, 0x23, 0x00, 0x01, 0x23, 0x00, 0x01,
        ],
    ),
    // A Topic Alias in a PUBACK, where it is not allowed.
    (
        "bad-property-not-allowed",
        &[0x40, 0x07, 0x00, 0x07, 0x00, 0x03, 0x23, 0x00, 0x01],
    ),
    // A Property Length not in its shortest form [MQTT-1.5.5-1].
    (
        "bad-property-length-not-shortest",
        &[0x30, 0x05, 0x00, 0x01, b'a', 0x80, 0x00],
    ),
    // An unknown property identifier.
    (
        "bad-unknown-property",
        &[0x30, 0x06, 0x00, 0x01, b'a', 0x02, 0x7F, 0x00],
    ),
    // A PUBACK with reason code 0x00 written out and an empty property list: valid, and
    // re-encoded two bytes shorter.
    ("puback-long-form", &[0x40, 0x04, 0x00, 0x01, 0x00, 0x00]),
];

/// `corpus/decode/seed-v5-*`: the 5.0 samples encoded (each alone, and all in one stream) and
/// a few malformed streams, each after the selector byte.
fn decode_v5_seeds() -> BTreeMap<String, Vec<u8>> {
    let sel = crate::decode::V5;
    let mut seeds = BTreeMap::new();
    let mut stream = vec![sel];
    for (name, spec) in crate::roundtrip_v5::samples() {
        let bytes = crate::roundtrip_v5::encode(&spec);
        stream.extend_from_slice(&bytes);
        let mut seed = vec![sel];
        seed.extend_from_slice(&bytes);
        seeds.insert(format!("seed-v5-{name}"), seed);
    }
    seeds.insert("seed-v5-stream-of-all".to_owned(), stream);
    for (name, bytes) in V5_MALFORMED {
        let mut seed = vec![sel];
        seed.extend_from_slice(bytes);
        seeds.insert(format!("seed-v5-{name}"), seed);
    }
    seeds
}

/// Check (or rewrite) the files of `corpus/<target>/` whose names start with `prefix`.
fn check_or_write(target: &str, prefix: &str, seeds: &BTreeMap<String, Vec<u8>>) {
    let dir = root().join("corpus").join(target);
    let write = std::env::var_os("MQTT_FUZZ_WRITE_SEEDS").is_some();
    let existing: Vec<String> = fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
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
    check_or_write("roundtrip", "seed-", &roundtrip_seeds());
}

#[test]
fn decode_v5_seeds_are_the_samples() {
    let seeds = decode_v5_seeds();
    // The malformed ones are refused, the others decode whole.
    for (name, seed) in &seeds {
        let body = seed.get(1..).unwrap_or_default();
        let mut rest = body;
        let decoder = mqtt_proto::v5::Decoder::new();
        let result = loop {
            match decoder.decode(rest) {
                Ok(Some((_, used))) => rest = &rest[used..],
                other => break other.map(|_| ()),
            }
            if rest.is_empty() {
                break Ok(());
            }
        };
        assert_eq!(
            result.is_err(),
            name.starts_with("seed-v5-bad-"),
            "{name}: {result:?}"
        );
    }
    check_or_write("decode", "seed-v5-", &seeds);
}

#[test]
fn session_seeds_are_the_scripts() {
    let v5 = crate::session_v5::scripts::all()
        .into_iter()
        .map(|(name, bytes, _)| (name.to_owned(), bytes));
    let seeds = crate::session::scripts::all(&decode_vectors())
        .into_iter()
        .chain(v5)
        .map(|(name, bytes)| (format!("seed-{name}"), bytes))
        .collect();
    check_or_write("session", "seed-", &seeds);
}
