//! The push text and the email (subject, text, HTML) of each notification kind, in Korean and
//! English. Templates live in `templates/<language>/<kind>.<part>` and are compiled in, because
//! moto cannot render SESv2 templates and a template that ships with the code cannot go missing.
//!
//! Placeholders are `{{eventId}}` and `{{ticketId}}`. Values are HTML-escaped in the HTML part.

use messages::{Notification, NotificationKind};

/// The language of a notification. Korean unless the locale asks for English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Korean,
    English,
}

impl Language {
    /// `en`, `en-US`, `en_GB`, `EN` → English; anything else, or no locale, → Korean (the
    /// service's home market and the seeds' default).
    pub fn from_locale(locale: Option<&str>) -> Self {
        let Some(locale) = locale.map(str::trim) else {
            return Language::Korean;
        };
        let language = locale.split(['-', '_']).next().unwrap_or_default();
        if language.eq_ignore_ascii_case("en") {
            Language::English
        } else {
            Language::Korean
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::Korean => "ko",
            Language::English => "en",
        }
    }
}

/// The values templates can use.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    pub event_id: &'a str,
    pub ticket_id: &'a str,
}

impl<'a> Values<'a> {
    pub fn of(notification: &'a Notification) -> Self {
        Self {
            event_id: &notification.event_id,
            ticket_id: notification.ticket_id.as_deref().unwrap_or_default(),
        }
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        match name {
            "eventId" => Some(self.event_id),
            "ticketId" => Some(self.ticket_id),
            _ => None,
        }
    }
}

/// An email ready for SESv2's Simple content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

struct TemplateSet {
    subject: &'static str,
    text: &'static str,
    html: &'static str,
    push: &'static str,
}

macro_rules! template_set {
    ($language:literal, $kind:literal) => {
        TemplateSet {
            subject: include_str!(concat!("../templates/", $language, "/", $kind, ".subject.txt")),
            text: include_str!(concat!("../templates/", $language, "/", $kind, ".txt")),
            html: include_str!(concat!("../templates/", $language, "/", $kind, ".html")),
            push: include_str!(concat!("../templates/", $language, "/", $kind, ".push.txt")),
        }
    };
}

const KO_TICKET_ISSUED: TemplateSet = template_set!("ko", "ticket-issued");
const KO_SOLD_OUT: TemplateSet = template_set!("ko", "sold-out");
const EN_TICKET_ISSUED: TemplateSet = template_set!("en", "ticket-issued");
const EN_SOLD_OUT: TemplateSet = template_set!("en", "sold-out");

fn templates(kind: NotificationKind, language: Language) -> &'static TemplateSet {
    match (language, kind) {
        (Language::Korean, NotificationKind::TicketIssued) => &KO_TICKET_ISSUED,
        (Language::Korean, NotificationKind::SoldOut) => &KO_SOLD_OUT,
        (Language::English, NotificationKind::TicketIssued) => &EN_TICKET_ISSUED,
        (Language::English, NotificationKind::SoldOut) => &EN_SOLD_OUT,
    }
}

pub fn email(kind: NotificationKind, language: Language, values: Values<'_>) -> RenderedEmail {
    let set = templates(kind, language);
    RenderedEmail {
        // A subject is one line; the file's trailing newline is not part of it.
        subject: fill(set.subject.trim_end(), values, Escape::None),
        text: fill(set.text, values, Escape::None),
        html: fill(set.html, values, Escape::Html),
    }
}

pub fn push(kind: NotificationKind, language: Language, values: Values<'_>) -> String {
    fill(templates(kind, language).push.trim_end(), values, Escape::None)
}

#[derive(Clone, Copy)]
enum Escape {
    None,
    Html,
}

/// Replaces each `{{name}}` with its value. An unknown name is left as written, so a typo shows
/// in the output (and the tests, which render every template, catch it).
fn fill(template: &str, values: Values<'_>, escape: Escape) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after_open = &rest[open + 2..];
        let Some(close) = after_open.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = &after_open[..close];
        match (values.get(name), escape) {
            (Some(value), Escape::None) => out.push_str(value),
            (Some(value), Escape::Html) => push_html_escaped(&mut out, value),
            (None, _) => out.push_str(&rest[open..open + 2 + close + 2]),
        }
        rest = &after_open[close + 2..];
    }
    out.push_str(rest);
    out
}

fn push_html_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [NotificationKind; 2] = [NotificationKind::TicketIssued, NotificationKind::SoldOut];
    const LANGUAGES: [Language; 2] = [Language::Korean, Language::English];

    fn values() -> Values<'static> {
        Values {
            event_id: "concert-2026",
            ticket_id: "t-42",
        }
    }

    #[test]
    fn english_locales_get_english_and_everything_else_korean() {
        for english in ["en", "en-US", "en_GB", "EN", " en-us "] {
            assert_eq!(Language::from_locale(Some(english)), Language::English, "{english}");
        }
        for korean in ["ko", "ko-KR", "", "fr", "eng", "english", "e"] {
            assert_eq!(Language::from_locale(Some(korean)), Language::Korean, "{korean}");
        }
        assert_eq!(Language::from_locale(None), Language::Korean);
    }

    #[test]
    fn every_template_renders_completely() {
        for kind in KINDS {
            for language in LANGUAGES {
                let email = email(kind, language, values());
                let push = push(kind, language, values());
                for (part, text) in [
                    ("subject", &email.subject),
                    ("text", &email.text),
                    ("html", &email.html),
                    ("push", &push),
                ] {
                    let at = format!("{}/{}.{part}", language.code(), kind.as_str());
                    assert!(
                        !text.contains("{{") && !text.contains("}}"),
                        "{at} left a placeholder: {text}"
                    );
                    assert!(text.contains("concert-2026"), "{at} does not name the event: {text}");
                    // The ticket id is in every ticket-issued body (not the subject), never in sold-out.
                    let shows_ticket = kind == NotificationKind::TicketIssued && part != "subject";
                    assert_eq!(text.contains("t-42"), shows_ticket, "{at}: {text}");
                }
                assert!(!email.subject.contains('\n') && !push.contains('\n'));
                assert!(email.html.contains(&format!("lang=\"{}\"", language.code())));
            }
        }
    }

    #[test]
    fn korean_and_english_texts_differ() {
        let korean = email(NotificationKind::TicketIssued, Language::Korean, values());
        let english = email(NotificationKind::TicketIssued, Language::English, values());
        assert!(korean.subject.contains("티켓이 발급되었습니다"), "{}", korean.subject);
        assert!(english.subject.contains("has been issued"), "{}", english.subject);
        assert!(push(NotificationKind::SoldOut, Language::Korean, values()).contains("판매"));
    }

    #[test]
    fn values_are_escaped_in_html_only() {
        let hostile = Values {
            event_id: "<b>\"Tom & Jerry's\"</b>",
            ticket_id: "t",
        };
        let email = email(NotificationKind::SoldOut, Language::English, hostile);
        assert!(
            email
                .html
                .contains("&lt;b&gt;&quot;Tom &amp; Jerry&#39;s&quot;&lt;/b&gt;"),
            "{}",
            email.html
        );
        assert!(!email.html.contains("<b>\""));
        assert!(email.text.contains("<b>\"Tom & Jerry's\"</b>"));
    }

    #[test]
    fn unknown_placeholders_and_lone_braces_are_left_as_written() {
        assert_eq!(
            fill("a {{nope}} b {{eventId}} {{", values(), Escape::None),
            "a {{nope}} b concert-2026 {{"
        );
    }
}
