//! Personal data in logs: email addresses in logs, stored results and error messages are masked: `kim@example.com` →
//! `k***@example.com`. The domain stays readable because it is what operators need to spot a
//! provider-wide problem; the local part identifies a person.

use std::borrow::Cow;

/// `k***@example.com` for `kim@example.com`; `***` when there is no local part or no `@`.
pub fn mask_email(address: &str) -> String {
    let address = address.trim();
    match address.rsplit_once('@') {
        Some((local, domain)) => match local.chars().next() {
            Some(first) => format!("{first}***@{domain}"),
            None => format!("***@{domain}"),
        },
        None => "***".to_owned(),
    }
}

/// `text` with every address-like word (anything around an `@`) masked. Service error messages
/// can quote the addresses of a request (SES names unverified identities), so they pass through
/// here before they reach a log line, a stored result or a dead letter.
pub fn mask_emails_in(text: &str) -> Cow<'_, str> {
    if !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut masked = String::with_capacity(text.len());
    let mut word_start: Option<usize> = None;
    for (index, c) in text.char_indices() {
        if is_word_boundary(c) {
            if let Some(start) = word_start.take() {
                push_word(&mut masked, &text[start..index]);
            }
            masked.push(c);
        } else if word_start.is_none() {
            word_start = Some(index);
        }
    }
    if let Some(start) = word_start {
        push_word(&mut masked, &text[start..]);
    }
    Cow::Owned(masked)
}

fn is_word_boundary(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '<' | '>' | '(' | ')' | '[' | ']' | ',' | ';' | '"' | '\'' | '`' | '\\'
        )
}

fn push_word(masked: &mut String, word: &str) {
    if word.contains('@') {
        masked.push_str(&mask_email(word));
    } else {
        masked.push_str(word);
    }
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
}
