//! The load: events with small capacities, ticket requests (one per event and user), producer
//! duplicates (the same request sent again as a new message), and poison messages. The plan is a
//! pure function of the seed and the parameters; [`send`] paces it into the queues.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::json;

use emulation::rng::Rng;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSpec {
    pub id: String,
    pub capacity: u64,
    /// The counters its seats are spread over: every other event has 4 (fewer when it has fewer
    /// seats), so both layouts of the tickets table run under the chaos.
    pub shards: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    pub event_id: String,
    pub user_id: String,
    pub email: String,
    pub locale: Option<String>,
    pub body: String,
}

/// Which queue a poison message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoisonQueue {
    TicketIssue,
    Notification,
}

/// A message no worker can process: it must end in the DLQ with this `error-kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poison {
    pub queue: PoisonQueue,
    pub body: String,
    pub expected_kind: &'static str,
    /// The email address in the body, if any: it must never show in clear in a log or a dead
    /// letter's reason.
    pub address: Option<String>,
}

/// One message of the load, in sending order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgoing {
    Request(usize),
    /// A producer duplicate of request n: the same body, a new message.
    Duplicate(usize),
    Poison(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoadPlan {
    pub events: Vec<EventSpec>,
    pub requests: Vec<RequestSpec>,
    pub poison: Vec<Poison>,
    pub sequence: Vec<Outgoing>,
}

/// A producer duplicate follows its original within this many messages: near ones overlap with
/// the original in flight, far ones arrive after it completed.
const DUPLICATE_SPREAD: u64 = 40;

impl LoadPlan {
    pub fn generate(seed: u64, requests: usize, events: usize, duplicate_rate: f64, poison: usize) -> Self {
        Self::generate_for_users(seed, requests, requests, events, duplicate_rate, poison)
    }

    /// As [`LoadPlan::generate`], with the requests drawn among `users` users (at least
    /// `requests / events`, rounded up, so there are enough distinct pairs): fewer users than
    /// requests give a user several requests, a FIFO message group of several messages.
    pub fn generate_for_users(
        seed: u64,
        requests: usize,
        users: usize,
        events: usize,
        duplicate_rate: f64,
        poison: usize,
    ) -> Self {
        // One generator, drawn from in this order: pairs, capacities, locales, the sequence.
        let mut rng = Rng::fork(seed, "load");
        let users = users.max(requests.div_ceil(events.max(1))).max(1) as u64;
        let planned = plan_pairs(&mut rng, requests, events, users);
        let events = plan_events(&mut rng, &planned, events);
        let requests = plan_requests(&mut rng, &planned, &events);
        let poison = plan_poison(poison);
        let sequence = plan_sequence(&mut rng, requests.len(), poison.len(), duplicate_rate);
        Self {
            events,
            requests,
            poison,
            sequence,
        }
    }

    pub fn body(&self, outgoing: Outgoing) -> &str {
        match outgoing {
            Outgoing::Request(i) | Outgoing::Duplicate(i) => &self.requests[i].body,
            Outgoing::Poison(k) => &self.poison[k].body,
        }
    }

    /// On FIFO queues, a message's group and deduplication id, as the template's producers set
    /// them (`events/ticket-processor/fifo-two-groups.json`): the group is the user (a producer
    /// duplicate joins its original's group), the deduplication id is the message's own (its
    /// place in the sequence), so a producer duplicate is a message of its own, not dropped by SQS.
    /// Poison messages each have a group of their own.
    pub fn fifo_ids(&self, index: usize) -> (String, String) {
        let group = match self.sequence[index] {
            Outgoing::Request(i) | Outgoing::Duplicate(i) => self.requests[i].user_id.clone(),
            Outgoing::Poison(k) => format!("poison-{k}"),
        };
        (group, format!("message-{index}"))
    }

    pub fn duplicates(&self) -> usize {
        self.sequence
            .iter()
            .filter(|o| matches!(o, Outgoing::Duplicate(_)))
            .count()
    }

    pub fn capacity(&self) -> u64 {
        self.events.iter().map(|e| e.capacity).sum()
    }

    /// Every email address the load carries: the requests' contacts and the poison's.
    pub fn addresses(&self) -> Vec<String> {
        self.requests
            .iter()
            .map(|request| request.email.clone())
            .chain(self.poison.iter().filter_map(|p| p.address.clone()))
            .collect()
    }
}

/// `requests` distinct (event, user) pairs, drawn at random.
fn plan_pairs(rng: &mut Rng, requests: usize, events: usize, users: u64) -> Vec<(usize, u64)> {
    let mut pairs = HashSet::new();
    let mut planned = Vec::with_capacity(requests);
    while planned.len() < requests {
        let (event, user) = (rng.below(events as u64) as usize, rng.below(users));
        if pairs.insert((event, user)) {
            planned.push((event, user));
        }
    }
    planned
}

/// The events and their capacities for the demand the pairs make.
fn plan_events(rng: &mut Rng, planned: &[(usize, u64)], events: usize) -> Vec<EventSpec> {
    let mut demand = vec![0u64; events];
    for (event, _) in planned {
        demand[*event] += 1;
    }
    // Between half and nine tenths of the demand, so those events sell out and most requests
    // still get a ticket; but every fourth event (the third of every four) has more seats than
    // demand (1–5 spare): a "sold out" there is a violation, so sold-out-only-when-full cannot
    // pass because every event happens to sell out.
    demand
        .iter()
        .enumerate()
        .map(|(i, demand)| {
            let draw = rng.unit();
            let capacity = if i % 4 == 2 {
                demand + 1 + (draw * 5.0) as u64
            } else {
                ((*demand as f64) * (0.5 + 0.4 * draw)).round().max(1.0) as u64
            };
            EventSpec {
                id: format!("evt-{i:03}"),
                capacity,
                shards: if i % 2 == 1 { capacity.min(4) as u32 } else { 1 },
            }
        })
        .collect()
}

/// One request per pair: its user's address, a locale (`en`, `ko` or none) and its body.
fn plan_requests(rng: &mut Rng, planned: &[(usize, u64)], events: &[EventSpec]) -> Vec<RequestSpec> {
    planned
        .iter()
        .map(|(event, user)| {
            let event_id = events[*event].id.clone();
            let user_id = format!("user-{user:06}");
            let email = format!("{user_id}@example.com");
            let locale = match rng.below(3) {
                0 => Some("en".to_owned()),
                1 => Some("ko".to_owned()),
                _ => None,
            };
            let mut body = json!({
                "eventId": event_id,
                "userId": user_id,
                "requestedAt": "2026-11-22T10:00:00.000Z",
                "contact": {"email": email},
            });
            if let Some(locale) = &locale {
                body["locale"] = json!(locale);
            }
            RequestSpec {
                event_id,
                user_id,
                email,
                locale,
                body: body.to_string(),
            }
        })
        .collect()
}

/// Poison of every kind, two with an address in the wrong place (the error quotes the value it
/// refuses: the address must come out masked), one with a contact (kept in the dead letter's
/// body for its redrive, never in its reason); a third as many on notification-queue.
fn plan_poison(poison: usize) -> Vec<Poison> {
    let mut poison_list = Vec::new();
    for k in 0..poison {
        let (body, expected_kind, address) = match k % 3 {
            0 => (format!("not json {{ poison {k}"), "malformed-body", None),
            1 => {
                let address = format!("poison-{k}＠example.com");
                let body = json!({"eventId": format!("evt-{k:03}"), "userId": address}).to_string();
                (body, "invalid-field", Some(address))
            }
            _ => {
                let address = format!("poison-{k}@example.com");
                let body = json!({"eventId": format!("no-such-event-{k}"), "userId": format!("user-{k}"),
                                  "contact": {"email": address}})
                .to_string();
                (body, "unknown-event", Some(address))
            }
        };
        poison_list.push(Poison {
            queue: PoisonQueue::TicketIssue,
            body,
            expected_kind,
            address,
        });
    }
    for k in 0..poison.div_ceil(3) {
        let (body, expected_kind, address) = if k % 2 == 0 {
            (format!("not a notification {k}"), "malformed-body", None)
        } else {
            let address = format!("\"poison notice {k}\"@example.com");
            let body = json!({"notificationId": format!("poison-{k}"), "kind": "sold-out",
                              "eventId": "evt-000", "userId": format!("user-{k}"), "contact": address})
            .to_string();
            (body, "invalid-field", Some(address))
        };
        poison_list.push(Poison {
            queue: PoisonQueue::Notification,
            body,
            expected_kind,
            address,
        });
    }
    poison_list
}

/// The sending order: originals at 10·i, a duplicate a little later, poison anywhere.
fn plan_sequence(rng: &mut Rng, requests: usize, poison: usize, duplicate_rate: f64) -> Vec<Outgoing> {
    let mut keyed: Vec<(u64, Outgoing)> = Vec::new();
    for i in 0..requests {
        keyed.push((10 * i as u64, Outgoing::Request(i)));
        if rng.chance(duplicate_rate) {
            keyed.push((
                10 * (i as u64 + rng.between(1, DUPLICATE_SPREAD)) + 5,
                Outgoing::Duplicate(i),
            ));
        }
    }
    let span = 10 * requests.max(1) as u64;
    for k in 0..poison {
        keyed.push((rng.below(span) + 3, Outgoing::Poison(k)));
    }
    keyed.sort_by_key(|(key, _)| *key);
    keyed.into_iter().map(|(_, outgoing)| outgoing).collect()
}

/// Where the load goes.
pub struct Queues<'a> {
    pub ticket_issue: &'a str,
    pub notification: &'a str,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sent {
    pub messages: usize,
    pub paused: Duration,
    /// FIFO: every message sent to ticket-issue-queue, in the order SQS accepted them (which is
    /// each group's order).
    pub fifo: Vec<FifoSent>,
}

/// One message sent to a FIFO ticket-issue-queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoSent {
    pub outgoing: Outgoing,
    pub group: String,
    /// The messageId SQS gave it.
    pub message_id: String,
}

/// Send the plan in order, ten at a time, waiting whenever a source queue holds `depth` visible
/// messages or more; on FIFO queues (`fifo`) with each message's group and deduplication id
/// ([`LoadPlan::fifo_ids`]). These calls go straight to the emulator: the producer is not under
/// test.
pub async fn send(
    plan: &LoadPlan,
    sqs: &aws_sdk_sqs::Client,
    queues: &Queues<'_>,
    depth: usize,
    fifo: bool,
) -> Result<Sent, String> {
    let mut sent = Sent::default();
    if fifo {
        send_fifo(plan, sqs, queues, depth, &mut sent).await?;
        return Ok(sent);
    }
    let mut batches: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for chunk in plan.sequence.chunks(10) {
        let started = std::time::Instant::now();
        while visible(sqs, queues.ticket_issue).await? >= depth || visible(sqs, queues.notification).await? >= depth {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sent.paused += started.elapsed();
        batches.clear();
        for outgoing in chunk {
            let queue = match outgoing {
                Outgoing::Poison(k) if plan.poison[*k].queue == PoisonQueue::Notification => queues.notification,
                _ => queues.ticket_issue,
            };
            batches.entry(queue).or_default().push(plan.body(*outgoing).to_owned());
        }
        for (queue, bodies) in &batches {
            let bodies: Vec<&str> = bodies.iter().map(String::as_str).collect();
            sent.messages += emulation::queues::send_batch(sqs, queue, &bodies).await?;
        }
    }
    Ok(sent)
}

async fn send_fifo(
    plan: &LoadPlan,
    sqs: &aws_sdk_sqs::Client,
    queues: &Queues<'_>,
    depth: usize,
    sent: &mut Sent,
) -> Result<(), String> {
    let indexed: Vec<usize> = (0..plan.sequence.len()).collect();
    for chunk in indexed.chunks(10) {
        let started = std::time::Instant::now();
        while visible(sqs, queues.ticket_issue).await? >= depth || visible(sqs, queues.notification).await? >= depth {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sent.paused += started.elapsed();
        let mut batches: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for &index in chunk {
            let queue = match plan.sequence[index] {
                Outgoing::Poison(k) if plan.poison[k].queue == PoisonQueue::Notification => queues.notification,
                _ => queues.ticket_issue,
            };
            batches.entry(queue).or_default().push(index);
        }
        for (queue, indexes) in &batches {
            let entries = indexes
                .iter()
                .map(|&index| {
                    let (group, deduplication_id) = plan.fifo_ids(index);
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(plan.body(plan.sequence[index]))
                        .message_group_id(group)
                        .message_deduplication_id(deduplication_id)
                        .build()
                        .expect("id and body are set")
                })
                .collect();
            let output = sqs
                .send_message_batch()
                .queue_url(*queue)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "SendMessageBatch to {queue}: {}",
                        aws_sdk_sqs::error::DisplayErrorContext(e)
                    )
                })?;
            if !output.failed().is_empty() || output.successful().len() != indexes.len() {
                return Err(format!(
                    "SendMessageBatch to {queue}: entries failed: {:?}",
                    output.failed()
                ));
            }
            sent.messages += indexes.len();
            if *queue != queues.ticket_issue {
                continue;
            }
            for &index in indexes {
                let entry = output
                    .successful()
                    .iter()
                    .find(|entry| entry.id() == index.to_string())
                    .ok_or_else(|| format!("SendMessageBatch to {queue}: entry {index} not reported"))?;
                sent.fifo.push(FifoSent {
                    outgoing: plan.sequence[index],
                    group: plan.fifo_ids(index).0,
                    message_id: entry.message_id().to_owned(),
                });
            }
        }
    }
    Ok(())
}

async fn visible(sqs: &aws_sdk_sqs::Client, queue: &str) -> Result<usize, String> {
    Ok(emulation::queues::depth(sqs, queue).await?.visible as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_reproduces_the_plan_and_another_seed_changes_it() {
        let plan = LoadPlan::generate(9, 200, 4, 0.2, 6);
        assert_eq!(plan, LoadPlan::generate(9, 200, 4, 0.2, 6));
        assert_ne!(plan.sequence, LoadPlan::generate(10, 200, 4, 0.2, 6).sequence);
    }

    #[test]
    fn the_plan_has_unique_requests_sold_out_and_spare_events_duplicates_and_every_poison() {
        let plan = LoadPlan::generate(3, 1_000, 5, 0.2, 9);
        let pairs: HashSet<(&str, &str)> = plan
            .requests
            .iter()
            .map(|r| (r.event_id.as_str(), r.user_id.as_str()))
            .collect();
        assert_eq!(pairs.len(), 1_000);
        for (i, event) in plan.events.iter().enumerate() {
            let demand = plan.requests.iter().filter(|r| r.event_id == event.id).count() as u64;
            if i % 4 == 2 {
                assert!(
                    (demand + 1..=demand + 5).contains(&event.capacity),
                    "{event:?} has seats to spare for demand {demand}"
                );
            } else {
                assert!(
                    event.capacity >= 1 && event.capacity < demand,
                    "{event:?} sells out for demand {demand}"
                );
            }
        }
        let duplicates = plan.duplicates();
        assert!(
            (150..250).contains(&duplicates),
            "{duplicates} duplicates of 1,000 at 20%"
        );
        for outgoing in &plan.sequence {
            if let Outgoing::Duplicate(i) = outgoing {
                let original = plan.sequence.iter().position(|o| *o == Outgoing::Request(*i)).unwrap();
                let copy = plan.sequence.iter().position(|o| o == outgoing).unwrap();
                assert!(copy > original, "a duplicate follows its original");
            }
        }
        let kinds: HashSet<(PoisonQueue, &str)> = plan.poison.iter().map(|p| (p.queue, p.expected_kind)).collect();
        for kind in ["malformed-body", "invalid-field", "unknown-event"] {
            assert!(kinds.contains(&(PoisonQueue::TicketIssue, kind)), "{kind}");
        }
        assert!(kinds.contains(&(PoisonQueue::Notification, "malformed-body")));
        assert!(kinds.contains(&(PoisonQueue::Notification, "invalid-field")));
        let misplaced = plan
            .poison
            .iter()
            .filter(|p| p.expected_kind == "invalid-field" && p.address.is_some())
            .count();
        assert!(misplaced >= 2, "addresses in the wrong place on both queues");
        assert_eq!(
            plan.addresses().len(),
            1_000 + plan.poison.iter().filter(|p| p.address.is_some()).count()
        );
        assert_eq!(plan.sequence.len(), 1_000 + duplicates + plan.poison.len());
        for request in &plan.requests {
            let parsed = messages::TicketRequest::parse(&request.body).unwrap();
            assert_eq!(
                (parsed.event_id, parsed.user_id),
                (request.event_id.clone(), request.user_id.clone())
            );
        }
        for poison in plan.poison.iter().filter(|p| p.queue == PoisonQueue::TicketIssue) {
            let parsed = messages::TicketRequest::parse(&poison.body);
            assert_eq!(
                parsed.is_ok(),
                poison.expected_kind == "unknown-event",
                "{}",
                poison.body
            );
        }
    }
}
