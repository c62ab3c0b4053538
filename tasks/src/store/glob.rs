//! Job input globs (`IL-*`, `CA-??.tdf`): `*` matches any run of characters,
//! `?` exactly one, every other character itself.
//!
//! The same glob is evaluated three ways that must agree: in Rust on a tracked
//! file's name, and in SQL as a MySQL `LIKE` or a SQLite `GLOB` pattern bound as
//! a parameter. The literal prefix gives the SQL an index range.

/// The escape character of the MySQL `LIKE` patterns. Not a backslash: with
/// `NO_BACKSLASH_ESCAPES` in `sql_mode` the literal `'\\'` means two characters.
pub(crate) const LIKE_ESCAPE: char = '!';

/// Whether `name` matches `glob` as a whole.
pub(crate) fn glob_matches(glob: &str, name: &str) -> bool {
    let glob: Vec<char> = glob.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut g, mut n) = (0, 0);
    // Where to resume after the last `*`: the glob position after it and the
    // name position it currently swallows up to.
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        match glob.get(g) {
            Some('*') => {
                backtrack = Some((g + 1, n));
                g += 1;
            }
            Some('?') => {
                g += 1;
                n += 1;
            }
            Some(&c) if c == name[n] => {
                g += 1;
                n += 1;
            }
            _ => match backtrack {
                Some((after_star, swallowed)) => {
                    g = after_star;
                    n = swallowed + 1;
                    backtrack = Some((after_star, swallowed + 1));
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|&c| c == '*')
}

/// The glob's text before its first wildcard: every matching name starts with it.
pub(crate) fn literal_prefix(glob: &str) -> &str {
    let end = glob.find(['*', '?']).unwrap_or(glob.len());
    &glob[..end]
}

/// The smallest string greater than every string that starts with `prefix`
/// (in code-point order), or `None` when there is none (empty prefix, or
/// nothing after it can be incremented).
pub(crate) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 {
            0xD7FF => Some('\u{E000}'),
            code => char::from_u32(code + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The glob as a MySQL `LIKE` pattern with [`LIKE_ESCAPE`].
pub(crate) fn to_like_pattern(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() + 4);
    for c in glob.chars() {
        match c {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '%' | '_' | LIKE_ESCAPE => {
                out.push(LIKE_ESCAPE);
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The glob as a SQLite `GLOB` pattern, where `[` opens a character class.
pub(crate) fn to_sqlite_glob(glob: &str) -> String {
    glob.replace('[', "[[]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_a_shell_glob() {
        assert!(glob_matches("IL-*", "IL-101.tdf"));
        assert!(glob_matches("IL-*", "IL-"));
        assert!(!glob_matches("IL-*", "il-101.tdf"));
        assert!(!glob_matches("IL-*", "CA-101.tdf"));
        assert!(glob_matches("*-1?1.tdf", "IL-101.tdf"));
        assert!(!glob_matches("*-1?1.tdf", "IL-1001.tdf"));
        assert!(glob_matches("Item-Master-Data.tdf", "Item-Master-Data.tdf"));
        assert!(!glob_matches("Item-Master-Data.tdf", "Item-Master-Data.tdf.bak"));
        assert!(glob_matches("*a*b", "xaxxab"));
        assert!(!glob_matches("*a*b", "xaxxa"));
        assert!(glob_matches("**", ""));
        assert!(glob_matches("?", "é"));
        assert!(glob_matches("50%_[x]*", "50%_[x].tdf"));
        assert!(!glob_matches("50%_*", "50ab.tdf"));
    }

    #[test]
    fn the_prefix_stops_at_the_first_wildcard() {
        assert_eq!(literal_prefix("IL-*.tdf"), "IL-");
        assert_eq!(literal_prefix("IL-?01*"), "IL-");
        assert_eq!(literal_prefix("*.tdf"), "");
        assert_eq!(literal_prefix("exact.tdf"), "exact.tdf");
    }

    #[test]
    fn the_upper_bound_follows_every_name_with_the_prefix() {
        assert_eq!(prefix_upper_bound("IL-").as_deref(), Some("IL."));
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(prefix_upper_bound("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        let upper = prefix_upper_bound("IL-").unwrap();
        for name in ["IL-", "IL-101.tdf", "IL-\u{10FFFF}"] {
            assert!(name >= "IL-" && name < upper.as_str(), "{name}");
        }
    }

    #[test]
    fn sql_patterns_keep_literal_characters_literal() {
        assert_eq!(to_like_pattern("IL-*.tdf"), "IL-%.tdf");
        assert_eq!(to_like_pattern("50%_!?"), "50!%!_!!_");
        assert_eq!(to_sqlite_glob("[x]-*"), "[[]x]-*");
    }
}
