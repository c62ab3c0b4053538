//! A dataset's `files` pattern: which keys under `incoming/` are its files,
//! and the parts of a key that become values (captures).
//!
//! The pattern is matched against the key relative to `incoming/`
//! (`orders/EU-2026-11-30.csv`), whole:
//! - `*` matches any run of characters other than `/` (also none);
//! - `?` matches one character other than `/`;
//! - `{name}` captures one or more characters other than `/` (the shortest
//!   run that lets the rest match), or, when the dataset constrains the
//!   capture (`captures = { name = "REGEX" }`), a run matching that regular
//!   expression;
//! - everything else matches itself; `[`, `]` and `\` are reserved.
//!
//! Two patterns *overlap* when some key matches both; [`FilePattern::overlap`]
//! decides that exactly (as the intersection of two automata) and gives such a
//! key, so a project whose datasets could both claim a file is refused when it
//! is checked rather than surprising anyone at run time.

use std::collections::{BTreeMap, HashMap, VecDeque};

use regex::Regex;
use regex_automata::dfa::{dense, Automaton};
use regex_automata::{Anchored, Input};

/// The longest pattern accepted, in bytes.
pub const MAX_PATTERN_BYTES: usize = 512;

/// A parsed `files` pattern.
#[derive(Debug, Clone)]
pub struct FilePattern {
    text: String,
    /// The pattern as an (unanchored) regular expression.
    source: String,
    regex: Regex,
    captures: Vec<String>,
    /// The pattern with every capture unconstrained, and each capture's
    /// constraint: says which part of a near miss is wrong.
    loose: Regex,
    constraints: Vec<Option<(String, Regex)>>,
}

impl FilePattern {
    /// Parses `text`; `constraints` maps capture names to the regular
    /// expression their value must match.
    pub fn parse(text: &str, constraints: &BTreeMap<String, String>) -> Result<FilePattern, String> {
        if text.is_empty() {
            return Err("must not be empty".into());
        }
        if text.len() > MAX_PATTERN_BYTES {
            return Err(format!("must have at most {MAX_PATTERN_BYTES} bytes"));
        }
        if text.starts_with('/') || text.ends_with('/') || text.contains("//") {
            return Err("is a path relative to incoming/: no leading, trailing or doubled `/`".into());
        }
        if text.split('/').any(|segment| segment == "." || segment == "..") {
            return Err("must not have `.` or `..` segments".into());
        }
        let mut source = String::new();
        let mut loose = String::new();
        let mut constrained = Vec::new();
        let mut captures: Vec<String> = Vec::new();
        let mut after_capture = false;
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            match c {
                '*' => {
                    source.push_str("[^/]*");
                    loose.push_str("[^/]*");
                }
                '?' => {
                    source.push_str("[^/]");
                    loose.push_str("[^/]");
                }
                '{' => {
                    let Some(end) = rest.find('}') else {
                        return Err("has a `{` without its `}`".into());
                    };
                    let name = &rest[1..end];
                    if !is_capture_name(name) {
                        return Err(format!(
                            "capture {{{name}}} must be named with a lower-case letter or `_`, then lower-case \
                             letters, digits or `_`"
                        ));
                    }
                    if captures.iter().any(|c| c == name) {
                        return Err(format!("captures {{{name}}} twice"));
                    }
                    if after_capture {
                        return Err(format!(
                            "capture {{{name}}} follows another capture directly; put a literal between them"
                        ));
                    }
                    match constraints.get(name) {
                        Some(constraint) => {
                            let whole = Regex::new(&format!("^(?:{constraint})$")).map_err(|e| {
                                format!("the constraint of capture {{{name}}} is not a regular expression: {e}")
                            })?;
                            source.push_str(&format!("(?P<{name}>(?:{constraint}))"));
                            constrained.push(Some((constraint.clone(), whole)));
                        }
                        None => {
                            source.push_str(&format!("(?P<{name}>[^/]+?)"));
                            constrained.push(None);
                        }
                    }
                    loose.push_str(&format!("(?P<{name}>[^/]*?)"));
                    captures.push(name.to_owned());
                    after_capture = true;
                    rest = &rest[end + 1..];
                    continue;
                }
                '}' => return Err("has a `}` without its `{`".into()),
                '[' | ']' | '\\' => return Err(format!("{c:?} is reserved; the wildcards are `*`, `?` and {{name}}")),
                c if c.is_control() => return Err("must not contain control characters".into()),
                c => {
                    let literal = regex::escape(c.encode_utf8(&mut [0; 4]));
                    source.push_str(&literal);
                    loose.push_str(&literal);
                }
            }
            after_capture = false;
            rest = &rest[c.len_utf8()..];
        }
        if let Some(name) = constraints.keys().find(|name| !captures.contains(name)) {
            return Err(format!("constrains capture {{{name}}}, which the pattern does not have"));
        }
        let regex = Regex::new(&format!("^(?:{source})$")).map_err(|e| format!("cannot be compiled: {e}"))?;
        let loose = Regex::new(&format!("^(?:{loose})$")).map_err(|e| format!("cannot be compiled: {e}"))?;
        Ok(FilePattern { text: text.to_owned(), source, regex, captures, loose, constraints: constrained })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The capture names, in the order they appear.
    pub fn captures(&self) -> &[String] {
        &self.captures
    }

    /// The captured values when `path` (a key relative to `incoming/`)
    /// matches, in the order of [`Self::captures`].
    pub fn matches(&self, path: &str) -> Option<Vec<String>> {
        let found = self.regex.captures(path)?;
        Some(self.captures.iter().map(|name| found.name(name).map_or("", |m| m.as_str()).to_owned()).collect())
    }

    /// For a path that matches the pattern's shape but not a capture's
    /// constraint: which part is wrong, in words.
    pub fn near_miss(&self, path: &str) -> Option<String> {
        let found = self.loose.captures(path)?;
        self.captures.iter().zip(&self.constraints).find_map(|(name, constraint)| {
            let value = found.name(name).map_or("", |m| m.as_str());
            match constraint {
                Some((text, whole)) if !whole.is_match(value) => {
                    Some(format!("the {name} part {value:?} does not match {text}"))
                }
                None if value.is_empty() => Some(format!("the {name} part is empty")),
                _ => None,
            }
        })
    }

    /// A key both patterns match, if there is one.
    pub fn overlap(&self, other: &FilePattern) -> Result<Option<String>, String> {
        let build = |p: &FilePattern| {
            dense::DFA::new(&format!("^(?:{})$", p.source))
                .map_err(|e| format!("pattern {:?} is too complex to compare: {e}", p.text))
        };
        let (a, b) = (build(self)?, build(other)?);
        let input = Input::new("").anchored(Anchored::Yes);
        let start_a = a.start_state_forward(&input).map_err(|e| e.to_string())?;
        let start_b = b.start_state_forward(&input).map_err(|e| e.to_string())?;
        // Breadth first over pairs of states, so the key found is a shortest one.
        let mut parent = HashMap::new();
        parent.insert((start_a, start_b), None);
        let mut queue = VecDeque::from([(start_a, start_b)]);
        while let Some((sa, sb)) = queue.pop_front() {
            if a.is_match_state(a.next_eoi_state(sa)) && b.is_match_state(b.next_eoi_state(sb)) {
                let mut bytes = Vec::new();
                let mut at = (sa, sb);
                while let Some(&Some((previous, byte))) = parent.get(&at) {
                    bytes.push(byte);
                    at = previous;
                }
                bytes.reverse();
                return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()));
            }
            for byte in 0..=255u8 {
                let next = (a.next_state(sa, byte), b.next_state(sb, byte));
                if a.is_dead_state(next.0) || b.is_dead_state(next.1) || parent.contains_key(&next) {
                    continue;
                }
                parent.insert(next, Some(((sa, sb), byte)));
                queue.push_back(next);
            }
        }
        Ok(None)
    }
}

/// A capture's or column's name: `[a-z_][a-z0-9_]*`, at most 63 bytes (the
/// warehouses' identifier limit).
pub fn is_capture_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
        && name.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> FilePattern {
        FilePattern::parse(text, &BTreeMap::new()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn constrained(text: &str, constraints: &[(&str, &str)]) -> FilePattern {
        let map = constraints.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        FilePattern::parse(text, &map).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn captures_take_the_shortest_run_that_lets_the_rest_match() {
        let p = pattern("orders/{region}-{day}.csv");
        assert_eq!(p.captures(), ["region", "day"]);
        assert_eq!(p.matches("orders/EU-2026-11-30.csv"), Some(vec!["EU".into(), "2026-11-30".into()]));
        assert_eq!(p.matches("orders/EU-.csv"), None, "a capture is never empty");
        assert_eq!(p.matches("orders/x/EU-1.csv"), None, "a capture never spans a `/`");
        assert_eq!(p.matches("EU-1.csv"), None);
        assert_eq!(pattern("*.jsonl").matches("a.jsonl"), Some(vec![]));
        assert_eq!(pattern("*.jsonl").matches("sub/a.jsonl"), None);
        assert_eq!(pattern("f?.tsv").matches("f1.tsv"), Some(vec![]));
        assert_eq!(pattern("f?.tsv").matches("f12.tsv"), None);
        assert_eq!(pattern("a+b(1).csv").matches("a+b(1).csv"), Some(vec![]), "literals are literal");
    }

    #[test]
    fn constrained_captures_match_their_expression_only() {
        let p = constrained("{province}-{store}.tdf", &[("province", "[A-Z]{2}"), ("store", "[A-Za-z0-9_-]{1,25}")]);
        assert_eq!(p.matches("IL-101.tdf"), Some(vec!["IL".into(), "101".into()]));
        assert_eq!(p.matches("IL-store-7.tdf"), Some(vec!["IL".into(), "store-7".into()]));
        for key in ["il-101.tdf", "ILL-101.tdf", "IL101.tdf", "IL-.tdf", "IL-1 01.tdf", "IL-101.TDF"] {
            assert_eq!(p.matches(key), None, "{key}");
        }
        assert_eq!(p.matches(&format!("IL-{}.tdf", "1".repeat(26))), None);
        assert_eq!(
            p.near_miss("IL-1 01.tdf").as_deref(),
            Some("the store part \"1 01\" does not match [A-Za-z0-9_-]{1,25}")
        );
        assert_eq!(p.near_miss("il-101.tdf").as_deref(), Some("the province part \"il\" does not match [A-Z]{2}"));
        assert_eq!(p.near_miss("IL-101.csv"), None, "not the pattern's shape at all");
    }

    #[test]
    fn bad_patterns_say_why() {
        let bad = |text: &str, constraints: &[(&str, &str)], why: &str| {
            let map = constraints.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            let err = FilePattern::parse(text, &map).expect_err(text);
            assert!(err.contains(why), "{text}: {err:?} lacks {why:?}");
        };
        bad("", &[], "empty");
        bad("/a.csv", &[], "relative");
        bad("a//b.csv", &[], "doubled");
        bad("../a.csv", &[], "`..`");
        bad("{region.csv", &[], "without its `}`");
        bad("region}.csv", &[], "without its `{`");
        bad("{Region}.csv", &[], "lower-case");
        bad("{a}-{a}.csv", &[], "twice");
        bad("{a}{b}.csv", &[], "directly");
        bad("[ab].csv", &[], "reserved");
        bad("{a}.csv", &[("b", "x")], "does not have");
        bad("{a}.csv", &[("a", "(")], "not a regular expression");
    }

    #[test]
    fn overlaps_are_found_with_an_example_key() {
        let sales =
            constrained("{province}-{store}.tdf", &[("province", "[A-Z]{2}"), ("store", "[A-Za-z0-9_-]{1,25}")]);
        let items = pattern("Item-Master-Data*.tdf");
        assert_eq!(sales.overlap(&items).unwrap(), None, "Item-... has no 2-letter upper-case province");
        let loose = pattern("{province}-{store}.tdf");
        let key = loose.overlap(&items).unwrap().expect("Item-Master-Data.tdf matches both");
        assert!(loose.matches(&key).is_some() && items.matches(&key).is_some(), "{key}");

        let csv = pattern("orders/*.csv");
        assert_eq!(csv.overlap(&pattern("orders/*.jsonl")).unwrap(), None);
        assert_eq!(csv.overlap(&pattern("returns/*.csv")).unwrap(), None);
        let witness = csv.overlap(&pattern("orders/{region}-{day}.csv")).unwrap().expect("they overlap");
        assert!(witness.starts_with("orders/") && witness.ends_with(".csv") && witness.contains('-'), "{witness}");
        assert_eq!(pattern("a?.csv").overlap(&pattern("a??.csv")).unwrap(), None, "different lengths");
        assert!(pattern("*").overlap(&pattern("x")).unwrap().is_some());
    }
}
