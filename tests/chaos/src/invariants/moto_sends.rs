//! The proxy's record of sends against moto's own (`sends-seen-by-the-proxy-are-motos`).

use std::collections::BTreeMap;

use super::Check;

/// What moto itself says was sent: its `/moto-api/data.json` (small runs only), the pushes it
/// delivered to a queue subscribed to the push topic, and its count of emails accepted
/// ([`crate::tap`]).
#[derive(Debug, Clone, Default)]
pub struct MotoSends {
    pub data_json: Option<emulation::sends::Sends>,
    pub delivered_pushes: Option<Vec<emulation::sends::PushSend>>,
    pub emails_accepted: Option<u64>,
}

fn push_key(p: &emulation::sends::PushSend) -> String {
    format!("{}|{}|{:?}", p.topic_arn, p.text, p.attributes)
}

fn email_key(e: &emulation::sends::EmailSend) -> String {
    format!("{}|{:?}|{}|{}", e.source, e.to, e.subject, e.body)
}

fn counted(keys: impl Iterator<Item = String>) -> BTreeMap<String, i64> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn compare(
    check: &mut Check,
    what: &str,
    theirs_name: &str,
    ours: BTreeMap<String, i64>,
    theirs: BTreeMap<String, i64>,
) {
    let keys: std::collections::BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    for key in keys {
        let (a, b) = (
            ours.get(key).copied().unwrap_or(0),
            theirs.get(key).copied().unwrap_or(0),
        );
        if a != b {
            check.violations.push(format!(
                "{what} seen {a} times by the proxy, {b} times by {theirs_name}: {key:.160}"
            ));
        }
    }
}

/// The proxy's record of accepted sends against moto's own: the same pushes and emails, as many
/// times each, in data.json when it was read; the same pushes as moto delivered to the tap's
/// queue; as many emails as moto counted. SKIPPED only when none of them was read.
pub fn sends_agree(tap: &emulation::sends::Sends, moto: &MotoSends) -> Check {
    let mut check = Check::new(
        "sends-seen-by-the-proxy-are-motos",
        "the pushes and emails the proxy saw accepted are exactly those moto holds (data.json in small runs; \
         in every run, the pushes moto delivered to a subscribed queue and its count of emails)",
    );
    if let Some(data) = &moto.data_json {
        compare(
            &mut check,
            "push",
            "moto's data.json",
            counted(tap.pushes.iter().map(push_key)),
            counted(data.pushes.iter().map(push_key)),
        );
        compare(
            &mut check,
            "email",
            "moto's data.json",
            counted(tap.emails.iter().map(email_key)),
            counted(data.emails.iter().map(email_key)),
        );
        check.notes.push(format!(
            "data.json: {} pushes, {} emails",
            data.pushes.len(),
            data.emails.len()
        ));
    }
    if let Some(delivered) = &moto.delivered_pushes {
        compare(
            &mut check,
            "push",
            "the topic's subscribed queue",
            counted(tap.pushes.iter().map(push_key)),
            counted(delivered.iter().map(push_key)),
        );
        check
            .notes
            .push(format!("{} pushes delivered to the subscribed queue", delivered.len()));
    }
    if let Some(accepted) = moto.emails_accepted {
        let recipients: u64 = tap.emails.iter().map(|e| e.to.len() as u64).sum();
        if recipients != accepted {
            check.violations.push(format!(
                "the proxy saw {recipients} email recipients accepted, moto counts {accepted} (GetSendQuota)"
            ));
        }
        check.notes.push(format!("moto counts {accepted} emails sent"));
    }
    if moto.data_json.is_none() && moto.delivered_pushes.is_none() && moto.emails_accepted.is_none() {
        return check.skip("no record of moto's was read");
    }
    check
}
