//! Coverage of the normative statements: every statement binding a client (client or both) is
//! checked by at least one test (a `checks![...]` inside a `#[test]` function of `tests/`), or
//! listed in `spec/not-applicable.tsv` with its reason. Every unnumbered client MUST of
//! `spec/unnumbered-client.tsv` is checked too. Prints `covered N of 72`, the statements not
//! applicable, and which tests check what.

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

    println!("covered {} of {}", covered.len(), client.len());
    println!("not applicable ({}):", not_applicable.len());
    for (id, reason) in &not_applicable {
        println!("  {id}: {reason}");
    }
    let unnumbered_missing: Vec<&str> = unnumbered
        .iter()
        .filter(|u| !checked_by.contains_key(&u.id))
        .map(|u| u.id.as_str())
        .collect();
    println!(
        "unnumbered client MUSTs: checked {} of {}",
        unnumbered.len() - unnumbered_missing.len(),
        unnumbered.len()
    );
    for u in &unnumbered {
        if let Some(tests) = checked_by.get(&u.id) {
            println!("  {} ({} tests): {}", u.id, tests.len(), u.text);
        }
    }
    println!("statement -> tests:");
    for s in &client {
        if let Some(tests) = checked_by.get(&s.id) {
            let list: Vec<&str> = tests.iter().map(String::as_str).collect();
            println!("  {} [{:?}]: {}", s.id, s.side, list.join(", "));
        }
    }
    let server_checked: Vec<_> = statements
        .iter()
        .filter(|s| !s.side.binds_client() && checked_by.contains_key(&s.id))
        .map(|s| s.id.as_str())
        .collect();
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
