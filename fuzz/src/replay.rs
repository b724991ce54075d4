//! Replays the seed corpus (`corpus/<target>/seed-*`) and every saved crash or regression input
//! (`regressions/<target>/*`) through the targets, so a stable `cargo test` exercises them.

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
