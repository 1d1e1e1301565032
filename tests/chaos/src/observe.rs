//! The emulator's state at the end of a run, read from the emulator itself: the tickets table
//! (Scan), the dead-letter queues (received with their attributes), every queue's counters, and
//! what SNS and SES accepted (the proxy's record of the emulator's 200 answers, cross-checked
//! against `/moto-api/data.json` when that is small enough). Nothing here reads the workers' logs.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use emulation::sends::{EmailSend, PushSend, Sends};
use serde_json::Value;
use ticket_processor::schema::{Counter, Key, Layout, PARTITION_KEY, SORT_KEY, StoredItem, parse_item};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QueueRole {
    TicketIssue,
    Notification,
    TicketIssueDlq,
    NotificationDlq,
}

impl QueueRole {
    pub fn name(self) -> &'static str {
        match self {
            QueueRole::TicketIssue => "ticket-issue-queue",
            QueueRole::Notification => "notification-queue",
            QueueRole::TicketIssueDlq => "ticket-issue-dlq",
            QueueRole::NotificationDlq => "notification-dlq",
        }
    }

    pub fn is_dead_letter_queue(self) -> bool {
        matches!(self, QueueRole::TicketIssueDlq | QueueRole::NotificationDlq)
    }
}

/// An event as the table holds it: its item's capacity and, summed over its counters (the event
/// item itself when K = 1), the seats they hold and the tickets they counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventState {
    pub capacity: Option<u64>,
    pub shards: u32,
    /// The counters' seats, summed; `None` when one lacks a number or the event item is absent.
    pub counted_capacity: Option<u64>,
    pub issued: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketState {
    pub event_id: String,
    pub user_id: String,
    pub ticket_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterState {
    pub queue: QueueRole,
    pub message_id: String,
    pub body: String,
    /// `error-kind`: set when a worker dead-lettered it; absent when SQS's redrive policy moved
    /// it after maxReceiveCount receives (retries exhausted).
    pub error_kind: Option<String>,
    pub original_message_id: Option<String>,
    /// Every String (and Number) attribute, for the personal-data scan.
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueState {
    pub role: QueueRole,
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

/// One record of the idempotency table (`shared::idempotency::dynamodb`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub key: String,
    /// INPROGRESS or COMPLETED.
    pub status: String,
    /// When an in-progress lock expires, epoch milliseconds.
    pub in_progress_expiration: Option<u64>,
    /// The stored result of a completed record.
    pub data: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// The idempotency table once everything drained, and when it was read (epoch ms).
    pub idempotency: Vec<IdempotencyRecord>,
    pub idempotency_read_at_ms: u64,
    pub events: BTreeMap<String, EventState>,
    pub tickets: Vec<TicketState>,
    /// Ticket items whose key is not the one ticket-processor's schema gives their own event and
    /// user (`userId` is read from the item, not from its key: a ticket stored under another
    /// user's key would otherwise pass as that user's).
    pub misfiled_tickets: Vec<String>,
    pub pushes: Vec<PushSend>,
    pub emails: Vec<EmailSend>,
    /// Those of `pushes` and `emails` whose answer the proxy replaced with a reset (applied,
    /// answer lost): the sender sends them again on redelivery, by design.
    pub lost_pushes: Vec<PushSend>,
    pub lost_emails: Vec<EmailSend>,
    pub dead_letters: Vec<DeadLetterState>,
    pub queues: Vec<QueueState>,
}

/// Where to look.
pub struct Sources<'a> {
    pub dynamodb: &'a aws_sdk_dynamodb::Client,
    pub sqs: &'a aws_sdk_sqs::Client,
    pub tickets_table: &'a str,
    pub idempotency_table: &'a str,
    pub queues: Vec<(QueueRole, String)>,
    pub sends: Sends,
}

fn text<E: std::error::Error>(operation: &str, resource: &str, error: E) -> String {
    format!(
        "{operation} of {resource}: {}",
        aws_sdk_sqs::error::DisplayErrorContext(error)
    )
}

pub async fn observe(sources: &Sources<'_>) -> Result<Observed, String> {
    let mut observed = Observed::default();
    // Counters first: receiving the dead letters below makes them in flight.
    for (role, url) in &sources.queues {
        observed.queues.push(queue_state(sources.sqs, *role, url).await?);
    }
    read_tickets(sources, &mut observed).await?;
    observed.idempotency_read_at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    observed.idempotency = read_idempotency(sources.dynamodb, sources.idempotency_table).await?;
    observed.pushes = sources.sends.pushes.clone();
    observed.emails = sources.sends.emails.clone();
    observed.lost_pushes = sources.sends.lost_pushes.clone();
    observed.lost_emails = sources.sends.lost_emails.clone();
    for (role, url) in sources.queues.iter().filter(|(role, _)| role.is_dead_letter_queue()) {
        observed
            .dead_letters
            .extend(read_dead_letters(sources.sqs, *role, url).await?);
    }
    Ok(observed)
}

pub async fn queue_state(sqs: &aws_sdk_sqs::Client, role: QueueRole, url: &str) -> Result<QueueState, String> {
    let depth = emulation::queues::depth(sqs, url).await?;
    Ok(QueueState {
        role,
        visible: depth.visible,
        in_flight: depth.in_flight,
        delayed: depth.delayed,
    })
}

/// Every item of the tickets table, read through ticket-processor's schema: events, their
/// counters, tickets.
async fn read_tickets(sources: &Sources<'_>, observed: &mut Observed) -> Result<(), String> {
    let mut start: Option<std::collections::HashMap<String, AttributeValue>> = None;
    let mut counters: BTreeMap<String, Vec<Counter>> = BTreeMap::new();
    let mut ticket_keys: Vec<(String, String, Key)> = Vec::new();
    loop {
        let page = sources
            .dynamodb
            .scan()
            .table_name(sources.tickets_table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| text("Scan", sources.tickets_table, e))?;
        for item in page.items() {
            match parse_item(item) {
                Some(StoredItem::Event { event_id, item }) => {
                    let state = observed.events.entry(event_id).or_default();
                    state.capacity = item.capacity;
                    state.shards = item.shards.unwrap_or(1);
                    if state.shards == 1 {
                        state.counted_capacity = item.capacity;
                        state.issued = item.issued;
                    }
                }
                Some(StoredItem::Counter { event_id, counter, .. }) => {
                    counters.entry(event_id).or_default().push(counter)
                }
                Some(StoredItem::Ticket(ticket)) => {
                    let key = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                    ticket_keys.push((
                        ticket.event_id.clone(),
                        ticket.user_id.clone(),
                        Key {
                            pk: key(PARTITION_KEY),
                            sk: key(SORT_KEY),
                        },
                    ));
                    observed.tickets.push(TicketState {
                        event_id: ticket.event_id,
                        user_id: ticket.user_id,
                        ticket_id: ticket.ticket_id,
                    })
                }
                None => {}
            }
        }
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => break,
        }
    }
    for (event_id, user_id, key) in ticket_keys {
        let layout = observed
            .events
            .get(&event_id)
            .and_then(|event| Layout::new(event.shards))
            .unwrap_or(Layout::single());
        let expected = layout.ticket_key(&event_id, &user_id);
        if key != expected {
            observed.misfiled_tickets.push(format!(
                "the ticket of {event_id}/{user_id} is stored under {key}, its key is {expected}"
            ));
        }
    }
    for (event_id, counters) in counters {
        let state = observed.events.entry(event_id).or_default();
        if state.shards > 1 && counters.len() == state.shards as usize {
            state.counted_capacity = counters.iter().map(|c| c.capacity).sum();
            state.issued = counters.iter().map(|c| c.issued).sum();
        }
    }
    Ok(())
}

/// Every record of the idempotency table (Scan, consistent reads).
async fn read_idempotency(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> Result<Vec<IdempotencyRecord>, String> {
    let mut records = Vec::new();
    let mut start: Option<std::collections::HashMap<String, AttributeValue>> = None;
    loop {
        let page = dynamodb
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| text("Scan", table, e))?;
        for item in page.items() {
            let string = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
            let number = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok());
            records.push(IdempotencyRecord {
                key: string("id").unwrap_or_default(),
                status: string("status").unwrap_or_default(),
                in_progress_expiration: number("in_progress_expiration"),
                data: string("data"),
            });
        }
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => break,
        }
    }
    Ok(records)
}

/// SNS `Topic[].sent_notifications` (`[id, message, subject, attributes, group]`) and SES
/// `Message[]` of `/moto-api/data.json`.
pub fn read_sends(data: &Value) -> Sends {
    let mut observed = Sends::default();
    for topic in data["sns"]["Topic"].as_array().into_iter().flatten() {
        let topic_arn = topic["arn"].as_str().unwrap_or_default();
        for sent in topic["sent_notifications"].as_array().into_iter().flatten() {
            let attributes = sent[3]
                .as_object()
                .map(|a| {
                    a.iter()
                        .map(|(name, value)| (name.clone(), value["Value"].as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            observed.pushes.push(PushSend {
                topic_arn: topic_arn.to_owned(),
                text: sent[1].as_str().unwrap_or_default().to_owned(),
                attributes,
            });
        }
    }
    for message in data["ses"]["Message"].as_array().into_iter().flatten() {
        observed.emails.push(EmailSend {
            source: message["source"].as_str().unwrap_or_default().to_owned(),
            to: message["destinations"]["ToAddresses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
            subject: message["subject"].as_str().unwrap_or_default().to_owned(),
            body: message["body"].as_str().unwrap_or_default().to_owned(),
        });
    }
    observed
}

/// `GET /moto-api/data.json`, with room for a large state: after a full run moto serialises
/// thousands of sends, which takes longer than the harness's own 30 s read timeout.
pub async fn moto_data(endpoint: &str) -> Result<Value, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let fetch = async {
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| format!("connect to moto at {address}: {e}"))?;
        stream
            .write_all(b"GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .map_err(|e| format!("ask moto for data.json: {e}"))?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .map_err(|e| format!("read moto's data.json: {e}"))?;
        Ok::<Vec<u8>, String>(response)
    };
    let response = tokio::time::timeout(std::time::Duration::from_secs(600), fetch)
        .await
        .map_err(|_| "moto did not answer /moto-api/data.json within 600 s".to_owned())??;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("moto's data.json answer has no header end")?;
    let head = String::from_utf8_lossy(&response[..split]);
    if !head.starts_with("HTTP/1.") || !head.lines().next().is_some_and(|l| l.contains(" 200")) {
        return Err(format!(
            "moto's data.json answer: {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    serde_json::from_slice(&response[split + 4..]).map_err(|e| format!("moto's data.json is not JSON: {e}"))
}

/// Every message of a DLQ, each once (hidden for the rest of the run once received).
async fn read_dead_letters(
    sqs: &aws_sdk_sqs::Client,
    role: QueueRole,
    url: &str,
) -> Result<Vec<DeadLetterState>, String> {
    let letters = emulation::queues::dead_letters(sqs, url).await?;
    Ok(letters
        .into_iter()
        .map(|letter| DeadLetterState {
            queue: role,
            error_kind: letter.attributes.get(shared::attributes::ERROR_KIND).cloned(),
            original_message_id: letter.attributes.get(shared::attributes::ORIGINAL_MESSAGE_ID).cloned(),
            message_id: letter.message_id,
            body: letter.body,
            attributes: letter.attributes,
        })
        .collect())
}
