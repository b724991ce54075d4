//! The statement tables, parsed, and the scan of the test sources for [`checks!`](crate::checks).

use std::collections::BTreeMap;

/// The 141 numbered normative statements of MQTT 3.1.1: `id`, `text`, `applies_to`.
pub const NORMATIVE_TSV: &str = include_str!("../spec/normative-3.1.1.tsv");
/// The unnumbered MUSTs a client must honour, which the tests check too: `id`, `section`, `text`.
pub const UNNUMBERED_TSV: &str = include_str!("../spec/unnumbered-client.tsv");
/// Client statements that cannot apply to this client: `id`, `reason`.
pub const NOT_APPLICABLE_TSV: &str = include_str!("../spec/not-applicable.tsv");
/// The 251 numbered normative statements of MQTT 5.0 (Appendix B): `id`, `text`, `applies_to`.
pub const NORMATIVE_5_TSV: &str = include_str!("../spec/normative-5.0.tsv");
/// MQTT 5.0 client or both statements that are not the client's to test: `id`, `reason`.
pub const NOT_APPLICABLE_5_TSV: &str = include_str!("../spec/not-applicable-5.0.tsv");

/// Which side a statement binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// Binds a client only.
    Client,
    /// Binds a server only.
    Server,
    /// Binds both.
    Both,
}

impl Side {
    /// Whether a client must honour it (client or both).
    pub fn binds_client(self) -> bool {
        matches!(self, Side::Client | Side::Both)
    }
}

/// One row of a statement table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `MQTT-x.y.z-n`, or `U-section-name` for an unnumbered one.
    pub id: String,
    /// The statement's text.
    pub text: String,
    /// The side it binds (unnumbered ones are all client statements).
    pub side: Side,
}

fn rows(tsv: &str) -> impl Iterator<Item = Vec<&str>> {
    tsv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

/// The numbered statements, in table order. Panics on a malformed table (a test-suite bug).
pub fn normative() -> Vec<Statement> {
    parse_normative(NORMATIVE_TSV)
}

/// The numbered statements of MQTT 5.0, in table order.
pub fn normative_5() -> Vec<Statement> {
    parse_normative(NORMATIVE_5_TSV)
}

fn parse_normative(tsv: &str) -> Vec<Statement> {
    rows(tsv)
        .map(|r| {
            let side = match r.get(2).copied() {
                Some("client") => Side::Client,
                Some("server") => Side::Server,
                Some("both") => Side::Both,
                other => panic!("bad side {other:?} in normative table row {r:?}"),
            };
            Statement {
                id: r[0].to_owned(),
                text: r.get(1).copied().unwrap_or_default().to_owned(),
                side,
            }
        })
        .collect()
}

/// The unnumbered client statements, in table order.
pub fn unnumbered() -> Vec<Statement> {
    rows(UNNUMBERED_TSV)
        .map(|r| Statement {
            id: r[0].to_owned(),
            text: r.get(2).copied().unwrap_or_default().to_owned(),
            side: Side::Client,
        })
        .collect()
}

/// Client statements that cannot apply, with the one-line reason.
pub fn not_applicable() -> BTreeMap<String, String> {
    parse_not_applicable(NOT_APPLICABLE_TSV)
}

/// MQTT 5.0 client statements that are not the client's to test, with the one-line reason.
pub fn not_applicable_5() -> BTreeMap<String, String> {
    parse_not_applicable(NOT_APPLICABLE_5_TSV)
}

fn parse_not_applicable(tsv: &str) -> BTreeMap<String, String> {
    rows(tsv)
        .map(|r| {
            (
                r[0].to_owned(),
                r.get(1).copied().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Whether `id` is a statement of either table.
pub fn is_known(id: &str) -> bool {
    rows(NORMATIVE_TSV)
        .chain(rows(UNNUMBERED_TSV))
        .any(|r| r[0] == id)
}

/// What [`checks!`](crate::checks) runs: panics if an ID is in neither table, so a typo fails
/// the test that carries it.
pub fn assert_known(ids: &[&str]) {
    for id in ids {
        assert!(is_known(id), "checks!: unknown statement id {id:?}");
    }
}

/// A `#[test]` function and the statements its [`checks!`](crate::checks) names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSite {
    /// The source file (file name only).
    pub file: String,
    /// The test function's name.
    pub test: String,
    /// The statement IDs.
    pub ids: Vec<String>,
}

/// Finds every `checks![...]` in a test source file. Returns an error naming the line of a
/// `checks!` that is not inside a `#[test]` function (helpers cannot count as tests).
///
/// The scan is line based: `#[test]` marks the next `fn` as a test; any other `fn` line starts
/// a non-test function. A `checks!` may span lines up to its closing `]`.
pub fn scan_source(file: &str, source: &str) -> Result<Vec<CheckSite>, String> {
    let mut sites = Vec::new();
    let mut test_attr = false;
    let mut current: Option<String> = None;
    let mut lines = source.lines().enumerate();
    while let Some((no, line)) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        if t.starts_with("#[test]") {
            test_attr = true;
            continue;
        }
        if let Some(name) = fn_name(t) {
            current = test_attr.then(|| name.to_owned());
            test_attr = false;
            continue;
        }
        let Some(start) = t.find("checks![") else {
            continue;
        };
        let mut text = t[start + "checks![".len()..].to_owned();
        while !text.contains(']') {
            match lines.next() {
                Some((_, more)) => text.push_str(more),
                None => return Err(format!("{file}:{}: unterminated checks!", no + 1)),
            }
        }
        let inner = &text[..text.find(']').unwrap_or(text.len())];
        let ids: Vec<String> = inner
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        match &current {
            Some(test) => sites.push(CheckSite {
                file: file.to_owned(),
                test: test.clone(),
                ids,
            }),
            None => {
                return Err(format!(
                    "{file}:{}: checks! outside a #[test] function",
                    no + 1
                ));
            }
        }
    }
    Ok(sites)
}

/// Whether a source file holds MQTT 5.0 tests: its name starts with `v5_` (as
/// `mqtt-proto/tests/v5_malformed.rs`), it is a `v5.rs` (as mqtt-session's
/// `src/tests/v5.rs`), or it lies in a `v5` directory (as `mqtt-proto/src/v5/`). Statement numbers of 5.0 and 3.1.1 overlap with different meanings,
/// so 5.0 tags are only read from these files.
pub fn is_v5_source(path: &str) -> bool {
    let path = path.replace('\\', "/");
    let name = path.rsplit('/').next().unwrap_or_default();
    name.starts_with("v5_") && name.ends_with(".rs")
        || name == "v5.rs"
        || path.split('/').any(|d| d == "v5") && name.ends_with(".rs")
}

/// Finds the statement tags of a 5.0 test source: every `MQTT-x.y.z-n` written inside a
/// `#[test]` function (in code, as `rule_v5()` results, or in a comment `[MQTT-x.y.z-n]`
/// next to the check). Tags outside `#[test]` functions (docs, helpers) do not count. The same
/// line-based notion of a test function as [`scan_source`].
pub fn scan_tags(file: &str, source: &str) -> Vec<CheckSite> {
    let mut sites: Vec<CheckSite> = Vec::new();
    let mut test_attr = false;
    let mut current: Option<String> = None;
    for line in source.lines() {
        let t = line.trim_start();
        if t.starts_with("#[test]") {
            test_attr = true;
            continue;
        }
        if !t.starts_with("//") {
            if let Some(name) = fn_name(t) {
                current = test_attr.then(|| name.to_owned());
                test_attr = false;
                continue;
            }
        }
        let Some(test) = &current else {
            continue;
        };
        let ids = statement_ids(t);
        if ids.is_empty() {
            continue;
        }
        match sites.last_mut() {
            Some(site) if &site.test == test && site.file == file => {
                for id in ids {
                    if !site.ids.contains(&id) {
                        site.ids.push(id);
                    }
                }
            }
            _ => sites.push(CheckSite {
                file: file.to_owned(),
                test: test.clone(),
                ids,
            }),
        }
    }
    sites
}

/// The `MQTT-x.y.z-n` ids in a line. A list in one tag, `[MQTT-3.6.1-1, MQTT-3.8.1-1]`, gives
/// each of its ids.
fn statement_ids(line: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("MQTT-") {
        let tail = &rest[at + "MQTT-".len()..];
        let len = tail
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .unwrap_or(tail.len());
        let number = tail[..len].trim_end_matches(['.', '-']);
        let well_formed = number.split_once('-').is_some_and(|(section, n)| {
            section.split('.').count() == 3
                && section
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
        });
        if well_formed {
            ids.push(format!("MQTT-{number}"));
        }
        rest = &tail[len..];
    }
    ids
}

/// The name of the function a line declares, if it does.
fn fn_name(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix("pub ")
        .or_else(|| line.strip_prefix("pub(crate) "))
        .unwrap_or(line);
    let rest = rest.strip_prefix("async ").unwrap_or(rest);
    let rest = rest.strip_prefix("fn ")?;
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse() {
        let all = normative();
        assert_eq!(all.len(), 141);
        assert_eq!(all.iter().filter(|s| s.side.binds_client()).count(), 72);
        assert!(unnumbered().iter().all(|s| s.id.starts_with("U-")));
        assert!(not_applicable().keys().all(|id| is_known(id)));
    }

    #[test]
    fn tables_5_parse() {
        let all = normative_5();
        assert_eq!(all.len(), 251);
        assert_eq!(all.iter().filter(|s| s.side == Side::Client).count(), 44);
        assert_eq!(all.iter().filter(|s| s.side == Side::Both).count(), 89);
        for id in not_applicable_5().keys() {
            assert!(all.iter().any(|s| &s.id == id), "{id}");
        }
    }

    #[test]
    fn v5_tags_are_read_in_tests_of_v5_files_only() {
        assert!(is_v5_source("mqtt-proto/tests/v5_malformed.rs"));
        assert!(is_v5_source("mqtt-proto/src/v5/properties.rs"));
        assert!(!is_v5_source("mqtt-proto/tests/malformed.rs"));
        assert!(!is_v5_source("conformance/tests/connect.rs"));
        let src = "/// Docs [MQTT-1.5.4-1].\nfn helper() {\n    // [MQTT-1.5.4-2]\n}\n#[test]\n\
                   fn a_test() {\n    // U+0000 [MQTT-1.5.4-2].\n    \
                   assert_eq!(e.rule_v5(), Some(\"MQTT-3.3.2-8\"));\n    \
                   // [MQTT-3.6.1-1, MQTT-3.8.1-1] and MQTT-9.9-1 is no id\n}\nfn other() {}\n\
                   // [MQTT-4.7.0-1]\n";
        let sites = scan_tags("v5_x.rs", src);
        assert_eq!(sites.len(), 1);
        assert_eq!(sites[0].test, "a_test");
        assert_eq!(
            sites[0].ids,
            [
                "MQTT-1.5.4-2",
                "MQTT-3.3.2-8",
                "MQTT-3.6.1-1",
                "MQTT-3.8.1-1"
            ]
        );
    }

    #[test]
    fn scan_finds_checks_in_tests_only() {
        let src = "#[test]\nfn a_test() {\n    checks![\"MQTT-1.5.3-1\",\n        \"MQTT-1.5.3-2\"];\n}\n";
        let sites = scan_source("x.rs", src).expect("valid");
        assert_eq!(sites.len(), 1);
        assert_eq!(sites[0].test, "a_test");
        assert_eq!(sites[0].ids, ["MQTT-1.5.3-1", "MQTT-1.5.3-2"]);
        let bad = "fn helper() {\n    checks![\"MQTT-1.5.3-1\"];\n}\n";
        assert!(scan_source("x.rs", bad).is_err());
    }
}
