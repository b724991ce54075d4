//! Replays the seed corpus (`corpus/<target>/seed-*`) and every saved crash or regression input
//! (`regressions/<target>/*`) through the targets, so a stable `cargo test` exercises them.
//!
//! `regressions/<target>/open/` holds the inputs of bugs found and not fixed yet: each must
//! still fail, with the message [`OPEN`] gives it, so the check that finds the bug stays. Once
//! the bug is fixed that test fails: move the input up to `regressions/<target>/`, where it is
//! replayed for good, and drop its line from [`OPEN`].

use std::fs;
use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let seeds = root.join("corpus").join(target);
    if let Ok(dir) = fs::read_dir(&seeds) {
        for entry in dir.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with("seed-") {
                files.push(entry.path());
            }
        }
    }
    let regressions = root.join("regressions").join(target);
    if let Ok(dir) = fs::read_dir(&regressions) {
        for entry in dir.flatten() {
            let name = entry.file_name();
            if entry.path().is_file() && !name.to_string_lossy().starts_with('.') {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8]), at_least: usize) {
    let files = inputs(target);
    assert!(
        files.len() >= at_least,
        "{target}: {} inputs found, expected at least {at_least}",
        files.len()
    );
    for path in files {
        let data = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("{target}: {}", path.display());
        run(&data);
    }
}

#[test]
fn decode_seeds_and_regressions() {
    replay("decode", crate::decode, 1);
}

#[test]
fn roundtrip_seeds_and_regressions() {
    replay("roundtrip", crate::roundtrip, 1);
}

#[test]
fn session_seeds_and_regressions() {
    replay("session", crate::session, 1);
}

/// The open findings: (target, file in `regressions/<target>/open/`, part of the panic message).
const OPEN: &[(&str, &str, &str)] = &[];

#[test]
fn open_findings_still_fail() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut listed = 0;
    for target in ["decode", "roundtrip", "session"] {
        let dir = root.join(target).join("open");
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(&(_, _, message)) = OPEN.iter().find(|(t, f, _)| *t == target && *f == name)
            else {
                panic!("{target}/open/{name} is not listed in OPEN");
            };
            listed += 1;
            let data = fs::read(entry.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let run: fn(&[u8]) = match target {
                "decode" => crate::decode,
                "roundtrip" => crate::roundtrip,
                _ => crate::session,
            };
            let outcome = std::panic::catch_unwind(|| run(&data));
            let Err(payload) = outcome else {
                panic!("{target}/open/{name} passes now: move it to regressions/{target}/");
            };
            let text = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or_default();
            assert!(
                text.contains(message),
                "{target}/open/{name} fails otherwise: {text}"
            );
        }
    }
    assert_eq!(listed, OPEN.len(), "an input of OPEN is missing");
}
