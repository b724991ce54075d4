//! Coverage of the normative statements: every statement binding a client (client or both) is
//! checked by at least one test (a `checks![...]` inside a `#[test]` function of `tests/`), or
//! listed in `spec/not-applicable.tsv` with its reason. Every unnumbered client MUST of
//! `spec/unnumbered-client.tsv` is checked too. Prints `covered N of 72`, the statements not
//! applicable, and which tests check what.
//!
//! MQTT 5.0 (`spec/normative-5.0.tsv`): the 133 statements binding a client (44 client, 89
//! both) and which of them a test of the workspace names. 5.0 tests name a statement by its id
//! inside a `#[test]` function of a 5.0 source (a file `v5_*.rs` or in a `v5/` directory,
//! anywhere in the workspace: `mqtt-proto/tests/v5_*.rs`, `mqtt-proto/src/v5/`, and the 5.0
//! tests of the other crates as they come), as a tag `[MQTT-x.y.z-n]` next to the check or as
//! the rule a decoder error names (`rule_v5()`); see [`spec::scan_tags`]. Statements that are
//! not the client's to test are listed in `spec/not-applicable-5.0.tsv` with the reason.
//! Prints `covered N of 133`, the statements not applicable, those not covered yet, and which
//! tests name what. The 5.0 client is not complete yet, so nothing requires full coverage.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use conformance::spec::{self, CheckSite};

fn sites() -> Vec<CheckSite> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let source = std::fs::read_to_string(&path).expect("readable test source");
        match spec::scan_source(&name, &source) {
            Ok(found) => all.extend(found),
            Err(e) => panic!("{e}"),
        }
    }
    all
}

#[test]
fn coverage_of_client_statements() {
    let statements = spec::normative();
    let unnumbered = spec::unnumbered();
    let not_applicable = spec::not_applicable();
    let sites = sites();
    // The report is printed in one piece, so that it stays whole next to the 5.0 report.
    let mut report = String::new();
    macro_rules! out {
        ($($t:tt)*) => {{
            report.push_str(&format!($($t)*));
            report.push('\n');
        }};
    }

    let mut checked_by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for site in &sites {
        for id in &site.ids {
            assert!(
                spec::is_known(id),
                "{}::{} names unknown statement {id:?}",
                site.file,
                site.test
            );
            checked_by.entry(id.clone()).or_default().insert(format!(
                "{}::{}",
                site.file.trim_end_matches(".rs"),
                site.test
            ));
        }
    }

    let client: Vec<_> = statements
        .iter()
        .filter(|s| s.side.binds_client())
        .collect();
    assert_eq!(client.len(), 72, "the table has 72 client statements");
    for (id, reason) in &not_applicable {
        let st = statements
            .iter()
            .find(|s| &s.id == id)
            .unwrap_or_else(|| panic!("not-applicable {id} is not a numbered statement"));
        assert!(
            st.side.binds_client(),
            "{id} is a server statement: no need to list it"
        );
        assert!(!reason.trim().is_empty(), "{id} needs a reason");
        assert!(
            !checked_by.contains_key(id),
            "{id} is both checked and listed as not applicable"
        );
    }

    let covered: Vec<_> = client
        .iter()
        .filter(|s| checked_by.contains_key(&s.id))
        .collect();
    let missing: Vec<_> = client
        .iter()
        .filter(|s| !checked_by.contains_key(&s.id) && !not_applicable.contains_key(&s.id))
        .map(|s| s.id.as_str())
        .collect();

    out!("covered {} of {}", covered.len(), client.len());
    out!("not applicable ({}):", not_applicable.len());
    for (id, reason) in &not_applicable {
        out!("  {id}: {reason}");
    }
    let unnumbered_missing: Vec<&str> = unnumbered
        .iter()
        .filter(|u| !checked_by.contains_key(&u.id))
        .map(|u| u.id.as_str())
        .collect();
    out!(
        "unnumbered client MUSTs: checked {} of {}",
        unnumbered.len() - unnumbered_missing.len(),
        unnumbered.len()
    );
    for u in &unnumbered {
        if let Some(tests) = checked_by.get(&u.id) {
            out!("  {} ({} tests): {}", u.id, tests.len(), u.text);
        }
    }
    out!("statement -> tests:");
    for s in &client {
        if let Some(tests) = checked_by.get(&s.id) {
            let list: Vec<&str> = tests.iter().map(String::as_str).collect();
            out!("  {} [{:?}]: {}", s.id, s.side, list.join(", "));
        }
    }
    let server_checked: Vec<_> = statements
        .iter()
        .filter(|s| !s.side.binds_client() && checked_by.contains_key(&s.id))
        .map(|s| s.id.as_str())
        .collect();
    print!("{report}");
    assert!(
        server_checked.is_empty(),
        "server statements named as checked (name the client side as an unnumbered statement \
         instead): {server_checked:?}"
    );
    assert!(
        missing.is_empty(),
        "client statements neither checked nor listed as not applicable: {missing:?}"
    );
    assert!(
        unnumbered_missing.is_empty(),
        "unnumbered statements not checked: {unnumbered_missing:?}"
    );
    assert_eq!(covered.len() + not_applicable.len(), client.len());
}

/// 5.0 tests that name statements without checking them: they check only the text or the rule
/// name of an error. Their ids do not count (the report lists them).
const NAMES_ONLY: &[(&str, &str)] = &[(
    "mqtt-proto/tests/v5_malformed",
    "display_names_the_5_0_rule",
)];

/// The 5.0 test sources of the workspace, as (path from the workspace root, source).
fn v5_sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf();
    let mut found = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                // Build output, and the separate workspaces (fuzzing, benchmarks).
                let skip = name.starts_with('.')
                    || name == "target"
                    || (dir == root && (name == "fuzz" || name == "bench"));
                if !skip {
                    dirs.push(path);
                }
                continue;
            }
            let rel = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if spec::is_v5_source(&rel) {
                let source = std::fs::read_to_string(&path).expect("readable source");
                found.push((rel, source));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn coverage_of_client_statements_5_0() {
    let statements = spec::normative_5();
    let not_applicable = spec::not_applicable_5();
    let sources = v5_sources();
    assert!(
        sources
            .iter()
            .any(|(p, _)| p.starts_with("mqtt-proto/tests/v5_")),
        "the 5.0 tests of mqtt-proto were not found"
    );

    let mut named_by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut names_only = Vec::new();
    for (path, source) in &sources {
        for site in spec::scan_tags(path, source) {
            let file = site.file.trim_end_matches(".rs");
            if NAMES_ONLY.contains(&(file, site.test.as_str())) {
                names_only.push(format!("{file}::{} ({})", site.test, site.ids.join(" ")));
                continue;
            }
            for id in site.ids {
                named_by.entry(id).or_default().insert(format!(
                    "{}::{}",
                    site.file.trim_end_matches(".rs"),
                    site.test
                ));
            }
        }
    }

    let client: Vec<_> = statements
        .iter()
        .filter(|s| s.side.binds_client())
        .collect();
    assert_eq!(
        client.len(),
        133,
        "the 5.0 table has 133 client or both statements"
    );
    for (id, reason) in &not_applicable {
        let st = client
            .iter()
            .find(|s| &s.id == id)
            .unwrap_or_else(|| panic!("not-applicable {id} is not a 5.0 client or both statement"));
        assert!(!reason.trim().is_empty(), "{} needs a reason", st.id);
        assert!(
            !named_by.contains_key(id),
            "{id} is both named by a test and listed as not applicable"
        );
    }
    let covered: Vec<_> = client
        .iter()
        .filter(|s| named_by.contains_key(&s.id))
        .collect();
    let missing: Vec<&str> = client
        .iter()
        .filter(|s| !named_by.contains_key(&s.id) && !not_applicable.contains_key(&s.id))
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(
        covered.len() + not_applicable.len() + missing.len(),
        client.len()
    );

    let mut report = String::new();
    macro_rules! out {
        ($($t:tt)*) => {{
            report.push_str(&format!($($t)*));
            report.push('\n');
        }};
    }
    out!(
        "covered {} of {} (MQTT 5.0: 44 client and 89 both statements)",
        covered.len(),
        client.len()
    );
    out!(
        "not applicable to the 5.0 client ({}):",
        not_applicable.len()
    );
    for (id, reason) in &not_applicable {
        out!("  {id}: {reason}");
    }
    out!("not covered yet ({}): {}", missing.len(), missing.join(" "));
    out!("statement -> tests:");
    for s in &covered {
        if let Some(tests) = named_by.get(&s.id) {
            let list: Vec<&str> = tests.iter().map(String::as_str).collect();
            out!("  {} [{:?}]: {}", s.id, s.side, list.join(", "));
        }
    }
    let server: Vec<&str> = statements
        .iter()
        .filter(|s| !s.side.binds_client() && named_by.contains_key(&s.id))
        .map(|s| s.id.as_str())
        .collect();
    out!(
        "server statements the 5.0 tests also name (a receiver's check, not counted): {}",
        server.join(" ")
    );
    let unknown: Vec<&str> = named_by
        .keys()
        .filter(|id| !statements.iter().any(|s| &s.id == *id))
        .map(String::as_str)
        .collect();
    out!(
        "ids named that are not 5.0 statements (not counted): {}",
        unknown.join(" ")
    );
    out!(
        "tests that name rules without checking them (not counted): {}",
        names_only.join(", ")
    );
    print!("{report}");
}
