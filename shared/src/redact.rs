//! Personal data in logs: email addresses in logs, stored results and error messages are masked: `kim@example.com` →
//! `k***@example.com`. The domain stays readable because it is what operators need to spot a
//! provider-wide problem; the local part identifies a person.
//!
//! This is the project's one masking: error texts that quote a value (serde's parse errors, a
//! rejected id, a service's error message), dry-run previews of dead letters and the `Debug` of
//! every type holding a contact go through [`mask_emails_in`] or [`mask_email`].
//!
//! An address is found in any form a producer may send it: the at sign as `@`, full-width `＠`
//! (U+FF20), small `﹫` (U+FE6B), URL-encoded `%40`, JSON-escaped `\u0040` or an HTML entity
//! (`&#64;`, `&#x40;`), and a quoted local part (`"kim lee"@example.com`, also with escaped
//! quotes as `Debug` and JSON write it).

use std::borrow::Cow;

/// The spellings of the at sign an address can be written with (plain, full-width, small, URL- and
/// JSON-escaped, HTML entities), longest first where one is a prefix of another.
pub const AT_SIGNS: [&str; 7] = ["@", "＠", "﹫", "%40", "\\u0040", "&#64;", "&#x40;"];

/// `k***@example.com` for `kim@example.com`; `***` when there is no local part or no at sign.
/// Every form of the at sign in [`AT_SIGNS`] counts; a quoted local part loses its quotes.
pub fn mask_email(address: &str) -> String {
    let address = address.trim();
    let Some((at_start, at_end)) = last_at_sign(address) else {
        return "***".to_owned();
    };
    let local = address[..at_start].trim_matches(|c| c == '"' || c == '\\');
    let domain = &address[at_end..];
    match local.chars().next() {
        Some(first) => format!("{first}***@{domain}"),
        None => format!("***@{domain}"),
    }
}

/// `text` with every address in it masked as [`mask_email`] does, and the rest kept. Service
/// error messages can quote the addresses of a request (SES names unverified identities), and
/// serde quotes the value it refused, so such texts pass through here before they reach a log
/// line, a stored result, a dead letter or a report.
pub fn mask_emails_in(text: &str) -> Cow<'_, str> {
    let Some(first) = next_at_sign(text, 0) else {
        return Cow::Borrowed(text);
    };
    let mut masked = String::with_capacity(text.len());
    // `copied`: how much of `text` is already in `masked`.
    let mut copied = 0;
    let mut next = Some(first);
    while let Some((at_start, at_end)) = next {
        let local_start = local_part_start(text, copied, at_start);
        let domain_end = domain_end(text, at_end);
        let local = unquote(&text[local_start..at_start]);
        let resume = if let Some(first) = local.chars().next() {
            masked.push_str(&text[copied..local_start]);
            masked.push(first);
            masked.push_str("***@");
            masked.push_str(&text[at_end..domain_end]);
            copied = domain_end;
            domain_end
        } else {
            // No local part (`@example.com`, a handle like `@kim`): nobody to hide.
            at_end
        };
        next = next_at_sign(text, resume);
    }
    masked.push_str(&text[copied..]);
    Cow::Owned(masked)
}

/// Characters of a value quoted by [`describe_value`].
const QUOTED_CHARS: usize = 40;

/// A refused value as an error message may show it: addresses masked, control characters
/// escaped, at most 40 characters, and its length: `"k***@example.com" (15 characters)`. A 10 KB
/// value is not echoed whole, and a value that is not what it should be may be anything.
pub fn describe_value(value: &str) -> String {
    let masked = mask_emails_in(value);
    let shown: String = masked.chars().take(QUOTED_CHARS).collect();
    let cut = if masked.chars().nth(QUOTED_CHARS).is_some() {
        "…"
    } else {
        ""
    };
    let count = value.chars().count();
    let unit = if count == 1 { "character" } else { "characters" };
    format!("{shown:?}{cut} ({count} {unit})")
}

/// The first at sign at or after `from`: its start and end.
fn next_at_sign(text: &str, from: usize) -> Option<(usize, usize)> {
    let rest = &text[from..];
    AT_SIGNS
        .iter()
        .filter_map(|sign| find_ignoring_ascii_case(rest, sign).map(|at| (from + at, from + at + sign.len())))
        .min_by_key(|&(start, end)| (start, std::cmp::Reverse(end)))
}

fn last_at_sign(text: &str) -> Option<(usize, usize)> {
    let mut last = None;
    let mut from = 0;
    while let Some((start, end)) = next_at_sign(text, from) {
        last = Some((start, end));
        from = end;
    }
    last
}

fn find_ignoring_ascii_case(haystack: &str, needle: &str) -> Option<usize> {
    if !needle.is_ascii() || !needle.bytes().any(|b| b.is_ascii_alphabetic()) {
        return haystack.find(needle);
    }
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    haystack
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

/// Characters that end an unquoted local part or a domain: what separates a value from the text
/// around it in error messages, logs, JSON and URLs. (`=`, `?`, `&` and `/` may appear in a local
/// part, but an address with them is rare and cutting there still hides the address.)
fn is_delimiter(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '<' | '>'
                | '('
                | ')'
                | '['
                | ']'
                | '{'
                | '}'
                | ','
                | ';'
                | ':'
                | '"'
                | '\''
                | '`'
                | '\\'
                | '|'
                | '='
                | '?'
                | '&'
                | '/'
        )
}

/// Where the local part before the at sign at `at` starts (never before `floor`). A quoted local
/// part (`"kim lee"@`, or `\"kim lee\"@` as `Debug` and JSON escape it) runs back to its opening
/// quote, spaces included.
fn local_part_start(text: &str, floor: usize, at: usize) -> usize {
    let before = &text[floor..at];
    let quoted = before.strip_suffix('"').map(|b| b.strip_suffix('\\').unwrap_or(b));
    if let Some(inside) = quoted {
        let inside_end = floor + inside.len();
        if let Some(open) = text[floor..inside_end].rfind('"') {
            let open = floor + open;
            let open = if text[..open].ends_with('\\') { open - 1 } else { open };
            return open;
        }
    }
    let mut start = at;
    for (index, c) in before.char_indices().rev() {
        if is_delimiter(c) {
            break;
        }
        start = floor + index;
    }
    start
}

/// Where the domain after an at sign ending at `from` ends.
fn domain_end(text: &str, from: usize) -> usize {
    text[from..]
        .char_indices()
        .find(|&(_, c)| is_delimiter(c) || c == '@')
        .map_or(text.len(), |(index, _)| from + index)
}

fn unquote(local: &str) -> &str {
    local.trim_matches(|c| c == '"' || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_keeps_its_first_letter_and_domain() {
        assert_eq!(mask_email("kim@example.com"), "k***@example.com");
        assert_eq!(mask_email(" 김민수@example.kr "), "김***@example.kr");
        assert_eq!(mask_email("@example.com"), "***@example.com");
        assert_eq!(mask_email("no-at-sign"), "***");
        assert_eq!(mask_email(""), "***");
        assert_eq!(mask_email("kim＠example.com"), "k***@example.com");
        assert_eq!(mask_email("kim%40example.com"), "k***@example.com");
        assert_eq!(mask_email("\"kim lee\"@example.com"), "k***@example.com");
    }

    #[test]
    fn every_address_in_a_text_is_masked_and_the_rest_kept() {
        assert_eq!(
            mask_emails_in("Email address not verified tickets@example.com"),
            "Email address not verified t***@example.com"
        );
        assert_eq!(
            mask_emails_in("identities failed the check: <kim@a.kr>, \"lee@b.com\"; park@c.org."),
            "identities failed the check: <k***@a.kr>, \"l***@b.com\"; p***@c.org."
        );
        assert_eq!(
            mask_emails_in(r#"invalid type: string "kim@example.com", expected struct Contact"#),
            r#"invalid type: string "k***@example.com", expected struct Contact"#
        );
        assert!(matches!(mask_emails_in("no address here"), Cow::Borrowed(_)));
    }

    #[test]
    fn every_spelling_of_the_at_sign_is_masked() {
        for (text, masked) in [
            ("to kim＠example.com now", "to k***@example.com now"),
            ("to kim﹫example.com now", "to k***@example.com now"),
            ("?to=kim%40example.com&x=1", "?to=k***@example.com&x=1"),
            ("?to=kim%40Example.com", "?to=k***@Example.com"),
            (r#"{"email":"kim\u0040example.com"}"#, r#"{"email":"k***@example.com"}"#),
            (r#"{"email":"kim\U0040example.com"}"#, r#"{"email":"k***@example.com"}"#),
            ("kim&#64;example.com", "k***@example.com"),
            ("kim&#x40;example.com", "k***@example.com"),
        ] {
            assert_eq!(mask_emails_in(text), masked, "{text}");
        }
    }

    #[test]
    fn a_quoted_local_part_is_masked_whole_spaces_and_all() {
        assert_eq!(
            mask_emails_in(r#"got "kim lee"@example.com here"#),
            "got k***@example.com here"
        );
        // As `{:?}` and JSON escape it inside a quoted string.
        assert_eq!(
            mask_emails_in(r#"invalid type: string "\"kim lee\"@example.com", expected"#),
            r#"invalid type: string "k***@example.com", expected"#
        );
        assert!(!mask_emails_in(r#"x "a b c"@d.org y"#).contains("a b c"));
    }

    #[test]
    fn values_are_described_masked_escaped_and_cut() {
        assert_eq!(
            describe_value("kim@example.com"),
            "\"k***@example.com\" (15 characters)"
        );
        assert_eq!(describe_value("a\u{0}b"), "\"a\\0b\" (3 characters)");
        let long = describe_value(&"x".repeat(10_240));
        assert!(long.ends_with("… (10240 characters)") && long.len() < 80, "{long}");
        assert_eq!(describe_value("é"), "\"é\" (1 character)");
    }

    #[test]
    fn texts_without_a_local_part_and_masked_texts_stay_as_they_are() {
        assert_eq!(mask_emails_in("ping @kim please"), "ping @kim please");
        assert_eq!(mask_emails_in("k***@example.com"), "k***@example.com");
        assert_eq!(
            mask_emails_in("a@b.com and c@d.com, e＠f.com"),
            "a***@b.com and c***@d.com, e***@f.com"
        );
        // Multi-byte text around an address keeps its characters.
        assert_eq!(
            mask_emails_in("메일: 김민수@예시.kr 입니다"),
            "메일: 김***@예시.kr 입니다"
        );
    }
}
