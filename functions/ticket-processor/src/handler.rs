//! One ticket request: parse → issue → notify.

use aws_config::SdkConfig;
use messages::{Notification, TicketRequest};
use serde::{Deserialize, Serialize};
use shared::{Record, RecordError, RecordHandler};

use crate::config::TicketConfig;
use crate::metrics::{ALREADY_ISSUED, SOLD_OUT, TICKETS_ISSUED, TIME_TO_TICKET};
use crate::notify::NotificationQueue;
use crate::request;
use crate::tickets::{ContentionRetry, Issuance, TicketTable};
use shared::redact::mask_email;

/// How a request ended, as stored in the idempotency record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TicketOutcome {
    Issued,
    AlreadyIssued,
    SoldOut,
}

impl TicketOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            TicketOutcome::Issued => "issued",
            TicketOutcome::AlreadyIssued => "already-issued",
            TicketOutcome::SoldOut => "sold-out",
        }
    }
}

/// A record's result: small on purpose, it is what idempotency stores for 14 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Processed {
    pub outcome: TicketOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
    pub notification_id: String,
}

/// Handles ticket-issue-queue records. Run it under `Idempotency::wrap` so a redelivered message
/// (same messageId) returns its stored result without running again. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TicketProcessor {
    tickets: TicketTable,
    notifications: NotificationQueue,
}

impl TicketProcessor {
    pub fn new(tickets: TicketTable, notifications: NotificationQueue) -> Self {
        Self { tickets, notifications }
    }

    /// The processor of a deployed function, with its clients.
    pub fn from_config(config: &TicketConfig, sdk: &SdkConfig) -> Self {
        let retry = ContentionRetry {
            deadline_margin: config.worker.deadline_margin,
            ..ContentionRetry::default()
        };
        Self::new(
            TicketTable::new(aws_sdk_dynamodb::Client::new(sdk), &config.tickets_table).with_contention_retry(retry),
            NotificationQueue::new(aws_sdk_sqs::Client::new(sdk), &config.notification_queue_url),
        )
    }

    /// Issue (or find, or refuse for lack of seats) the ticket, then enqueue the notification.
    /// A crash between the two is repaired by running the record again: the ticket is found,
    /// not re-issued, and the same notification is enqueued. The notification carries the
    /// record's X-Ray trace header, so the request and its notification are one trace.
    pub async fn process(&self, record: &Record) -> Result<Processed, RecordError> {
        let request = request::parse(record)?;
        // The idempotency key's id, so a redriven copy records the same message as the original.
        let message_id = record.original_message_id();
        let issuance = self
            .tickets
            .issue(&request, message_id, record.deadline(), record.metrics())
            .await?;
        count_issuance(record, &issuance, std::time::SystemTime::now());
        let (processed, notification) = outcome(&request, &issuance);
        self.notifications
            .enqueue(&notification, record.message_id(), record.trace_header())
            .await?;
        log(&request, &issuance, &processed);
        Ok(processed)
    }
}

impl RecordHandler for TicketProcessor {
    type Output = Processed;

    async fn handle(&self, record: Record) -> Result<Processed, RecordError> {
        self.process(&record).await
    }
}

fn outcome(request: &TicketRequest, issuance: &Issuance) -> (Processed, Notification) {
    let ticket_issued = |ticket: &crate::Ticket| {
        Notification::ticket_issued(
            &ticket.event_id,
            &ticket.user_id,
            &ticket.ticket_id,
            &ticket.issued_at,
            request.contact.clone(),
            request.locale.clone(),
        )
    };
    let (outcome, notification) = match issuance {
        Issuance::Issued(ticket) => (TicketOutcome::Issued, ticket_issued(ticket)),
        // The stored ticket's id: the same notificationId as when it was issued.
        Issuance::AlreadyIssued(ticket) => (TicketOutcome::AlreadyIssued, ticket_issued(ticket)),
        Issuance::SoldOut { .. } => (
            TicketOutcome::SoldOut,
            Notification::sold_out(
                &request.event_id,
                &request.user_id,
                request.contact.clone(),
                request.locale.clone(),
            ),
        ),
    };
    let processed = Processed {
        outcome,
        ticket_id: notification.ticket_id.clone(),
        notification_id: notification.notification_id.clone(),
    };
    (processed, notification)
}

fn log(request: &TicketRequest, issuance: &Issuance, processed: &Processed) {
    let contact = request.contact.as_ref();
    let email = contact.and_then(|c| c.email.as_deref()).map(mask_email);
    let push = contact.is_some_and(|c| c.push_endpoint_arn.is_some());
    let issued_by = match issuance {
        Issuance::AlreadyIssued(ticket) => Some(ticket.message_id.as_str()),
        _ => None,
    };
    let (capacity, issued) = match issuance {
        Issuance::SoldOut { capacity, issued } => (Some(*capacity), Some(*issued)),
        _ => (None, None),
    };
    tracing::info!(
        event_id = %request.event_id,
        user_id = %request.user_id,
        outcome = processed.outcome.as_str(),
        ticket_id = processed.ticket_id.as_deref(),
        issued_by_message = issued_by,
        capacity,
        issued,
        notification_id = %processed.notification_id,
        email = email.as_deref(),
        push,
        "ticket request handled; notification enqueued"
    );
}

/// A request's outcome, at `now`.
fn count_issuance(record: &Record, issuance: &Issuance, now: std::time::SystemTime) {
    let metrics = record.metrics();
    match issuance {
        Issuance::Issued(_) => {
            metrics.add(TICKETS_ISSUED, 1);
            if let Some(age) = record.age_at(now).filter(|_| !record.is_redriven_copy()) {
                metrics.observe(TIME_TO_TICKET, age);
            }
        }
        Issuance::AlreadyIssued(_) => metrics.add(ALREADY_ISSUED, 1),
        Issuance::SoldOut { .. } => metrics.add(SOLD_OUT, 1),
    }
}
