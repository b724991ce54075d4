//! The statement tables, parsed, and the scan of the test sources for [`checks!`](crate::checks).

use std::collections::BTreeMap;

/// The 141 numbered normative statements of MQTT 3.1.1: `id`, `text`, `applies_to`.
pub const NORMATIVE_TSV: &str = include_str!("../spec/normative-3.1.1.tsv");
/// The unnumbered MUSTs a client must honour, which the tests check too: `id`, `section`, `text`.
pub const UNNUMBERED_TSV: &str = include_str!("../spec/unnumbered-client.tsv");
/// Client statements that cannot apply to this client: `id`, `reason`.
pub const NOT_APPLICABLE_TSV: &str = include_str!("../spec/not-applicable.tsv");

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
    rows(NORMATIVE_TSV)
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
    rows(NOT_APPLICABLE_TSV)
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
