//! The personal-data scanner: searches log files, dead letters and reports for the email
//! addresses a load used, in every spelling a producer or an encoder may give them, and counts
//! those found in clear. The demo (`local-stack`, `make demo` and `local/tests/demo.rs`) and the
//! chaos run (`make chaos-short`) both call it after their load; the count must be 0.
//!
//! It shares no code with `shared::redact` on purpose: a masking bug must not be mirrored here.
//!
//! A text is normalised before the search: lower case; the at sign's spellings (`＠`, `﹫`, `%40`,
//! `\u0040`, `&#64;`, `&#x40;`) become `@`; URL-encoded and HTML-escaped quotes and spaces are
//! decoded; backslashes (JSON and `Debug` escapes, at any depth) are dropped. An address is
//! found where it stands whole: not inside a longer local part or domain. A quoted local part
//! (`"kim lee"@example.com`) is found quoted or not.
//!
//! Dead letters are searched in their **attributes** (`error-message`, …). Their bodies are the
//! producers' messages, kept byte for byte so that a redrive can deliver them: a request for an
//! event that does not exist yet carries its contact's address, and must still carry it when it
//! is replayed.

use std::path::{Path, PathBuf};

/// An address found in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where: a file, `<queue> message <id> attribute <name>`, a report.
    pub source: String,
    /// The address as the load wrote it.
    pub address: String,
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in clear in {}", self.address, self.source)
    }
}

/// Searches texts for a fixed set of addresses.
#[derive(Debug, Clone)]
pub struct Scanner {
    /// (the address as given, its normalised spellings to look for)
    addresses: Vec<(String, Vec<String>)>,
}

impl Scanner {
    pub fn new<S: AsRef<str>>(addresses: impl IntoIterator<Item = S>) -> Self {
        let mut list = Vec::new();
        for address in addresses {
            let address = address.as_ref();
            let normalised = normalise(address);
            let mut needles = vec![normalised.clone()];
            if let Some((local, domain)) = normalised.rsplit_once('@')
                && let Some(inner) = local.strip_prefix('"').and_then(|l| l.strip_suffix('"'))
            {
                needles.push(format!("{inner}@{domain}"));
            }
            if !list.iter().any(|(_, existing)| *existing == needles) {
                list.push((address.to_owned(), needles));
            }
        }
        Self { addresses: list }
    }

    /// How many addresses it looks for.
    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    /// Every address found in clear in `text`, once per occurrence.
    pub fn scan(&self, source: &str, text: &str) -> Vec<Found> {
        let haystack = normalise(text);
        let mut found = Vec::new();
        for (address, needles) in &self.addresses {
            let count: usize = needles.iter().map(|needle| occurrences(&haystack, needle)).sum();
            found.extend((0..count).map(|_| Found {
                source: source.to_owned(),
                address: address.clone(),
            }));
        }
        found
    }

    /// [`Scanner::scan`] of each file.
    pub fn scan_files(&self, files: &[PathBuf]) -> std::io::Result<Vec<Found>> {
        let mut found = Vec::new();
        for file in files {
            let bytes = std::fs::read(file)?;
            found.extend(self.scan(&file.display().to_string(), &String::from_utf8_lossy(&bytes)));
        }
        Ok(found)
    }
}

/// The `*.log` files of a directory, sorted.
pub fn log_files(directory: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    files.sort();
    Ok(files)
}

/// The string attributes of every message in a queue, as `(source, value)` pairs for
/// [`Scanner::scan`]: each message is received once, then made visible again, so the queue is
/// left as it was found.
pub async fn dead_letter_attributes(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Result<Vec<(String, String)>, String> {
    let mut texts = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut handles = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .wait_time_seconds(0)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| {
                format!(
                    "ReceiveMessage of {queue_url}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            let id = message.message_id().unwrap_or_default().to_owned();
            handles.extend(message.receipt_handle().map(str::to_owned));
            if !seen.insert(id.clone()) {
                continue;
            }
            for (name, value) in message.message_attributes().into_iter().flatten() {
                if let Some(text) = value.string_value() {
                    texts.push((format!("{queue_url} message {id} attribute {name}"), text.to_owned()));
                }
            }
        }
    }
    for handle in handles {
        // Best effort: a message left hidden comes back after 60 s anyway.
        let _ = sqs
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await;
    }
    Ok(texts)
}

fn normalise(text: &str) -> String {
    let mut text = text.to_lowercase();
    for (from, to) in [
        ("\\u0040", "@"),
        ("＠", "@"),
        ("﹫", "@"),
        ("%40", "@"),
        ("&#64;", "@"),
        ("&#x40;", "@"),
        ("%22", "\""),
        ("&quot;", "\""),
        ("%20", " "),
        ("\\u0022", "\""),
    ] {
        if text.contains(from) {
            text = text.replace(from, to);
        }
    }
    text.replace('\\', "")
}

/// Occurrences of `needle` standing whole: not preceded or followed by a character that would
/// make it part of a longer address.
fn occurrences(haystack: &str, needle: &str) -> usize {
    let part_of_address = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+');
    haystack
        .match_indices(needle)
        .filter(|(start, _)| {
            let before = haystack[..*start].chars().next_back();
            let after = haystack[start + needle.len()..].chars().next();
            // A dot may end a sentence after the domain; only a dot followed by more is a longer domain.
            let after_continues = match after {
                Some('.') => haystack[start + needle.len() + 1..]
                    .chars()
                    .next()
                    .is_some_and(part_of_address),
                Some(c) => part_of_address(c),
                None => false,
            };
            !before.is_some_and(part_of_address) && !after_continues
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(addresses: &[&str], text: &str) -> usize {
        Scanner::new(addresses).scan("text", text).len()
    }

    #[test]
    fn every_spelling_of_an_address_is_found() {
        let kim = ["kim.lee@example.com"];
        for text in [
            "to kim.lee@example.com now",
            "to KIM.LEE@Example.COM",
            "kim.lee＠example.com",
            "kim.lee﹫example.com",
            "?to=kim.lee%40example.com&x=1",
            r#"{"email":"kim.lee\u0040example.com"}"#,
            r#"{"message":"{\"email\":\"kim.lee\\u0040example.com\"}"}"#,
            "kim.lee&#64;example.com",
            "string \"kim.lee@example.com\", expected",
            "end of sentence kim.lee@example.com.",
        ] {
            assert_eq!(count(&kim, text), 1, "{text}");
        }
    }

    #[test]
    fn a_quoted_local_part_is_found_quoted_escaped_or_not() {
        let quoted = [r#""kim lee"@example.com"#];
        for text in [
            r#"got "kim lee"@example.com"#,
            r#"{"userId":"\"kim lee\"@example.com"}"#,
            r#"string "\"kim lee\"@example.com", expected"#,
            "%22kim%20lee%22%40example.com",
            "kim lee@example.com",
        ] {
            assert_eq!(count(&quoted, text), 1, "{text}");
        }
    }

    #[test]
    fn masked_addresses_and_longer_ones_are_not_counted() {
        let kim = ["kim@example.com"];
        for text in [
            "k***@example.com",
            "joakim@example.com",
            "kim@example.community",
            "kim@example.com.au",
            "no address",
        ] {
            assert_eq!(count(&kim, text), 0, "{text}");
        }
        assert_eq!(count(&kim, "kim@example.com and again kim＠example.com"), 2);
    }

    #[test]
    fn a_planted_address_in_a_log_file_is_found() {
        let directory = std::env::temp_dir().join(crate::unique_name("scan"));
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::write(directory.join("clean.log"), "{\"email\":\"f***@example.com\"}\n").unwrap();
        std::fs::write(directory.join("not-a-log.txt"), "fan-1@example.com\n").unwrap();
        let scanner = Scanner::new(["fan-1@example.com", "fan-2@example.com"]);
        let files = log_files(&directory).unwrap();
        assert!(scanner.scan_files(&files).unwrap().is_empty());

        std::fs::write(
            directory.join("leaky.log"),
            "{\"level\":\"ERROR\",\"error\":\"invalid type: string \\\"fan-2@example.com\\\"\"}\n",
        )
        .unwrap();
        let found = scanner.scan_files(&log_files(&directory).unwrap()).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].address, "fan-2@example.com");
        assert!(found[0].source.ends_with("leaky.log"), "{}", found[0]);
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
