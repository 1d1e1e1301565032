//! Issuing against aws-smithy-mocks answering with DynamoDB's own wire responses (JSON 1.0
//! bodies and status codes, as the API reference documents them), so the SDK's error parsing is
//! part of what is tested. SDK retries are off: the retries tested are this module's.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};
use shared::{Deadline, RecordError};

use super::*;

type HttpResponse = Response<SdkBody>;

const PREFIX: &str = "com.amazonaws.dynamodb.v20120810#";

fn response(status: u16, body: Value) -> HttpResponse {
    Response::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body.to_string()))
}

/// A `TransactionCanceledException` with these reasons, as DynamoDB words it.
fn cancelled(reasons: Vec<Value>) -> HttpResponse {
    let codes: Vec<&str> = reasons.iter().map(|r| r["Code"].as_str().unwrap()).collect();
    response(
        400,
        json!({
            "__type": format!("{PREFIX}TransactionCanceledException"),
            "Message": format!(
                "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                codes.join(", ")
            ),
            "CancellationReasons": reasons,
        }),
    )
}

fn passed() -> Value {
    json!({"Code": "None"})
}

fn condition_failed(item: Option<Value>) -> Value {
    let mut reason = json!({"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"});
    if let Some(item) = item {
        reason["Item"] = item;
    }
    reason
}

fn conflict() -> Value {
    json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})
}

const THROTTLED_MESSAGE: &str = "Throughput exceeds the current capacity of your table or index. DynamoDB is \
     automatically scaling your table or index so please try again shortly. If exceptions persist, check if you \
     have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html.";

/// A top-level error (`__type` and lowercase `message`), as DynamoDB sends every other error.
fn exception(name: &str, message: &str) -> HttpResponse {
    response(400, json!({"__type": format!("{PREFIX}{name}"), "message": message}))
}

fn committed() -> HttpResponse {
    response(200, json!({}))
}

/// A counter (or, with K = 1, event) item as DynamoDB returns it.
fn counter(capacity: u64, issued: u64) -> Value {
    json!({"pk": {"S": "EVENT#e-1#SHARD#0"}, "sk": {"S": "COUNTER"},
           "capacity": {"N": capacity.to_string()}, "issued": {"N": issued.to_string()}})
}

fn stored_ticket() -> Ticket {
    Ticket {
        ticket_id: "t-stored".into(),
        event_id: "e-1".into(),
        user_id: "u-1".into(),
        issued_at: "2026-11-22T10:00:00.000Z".into(),
        message_id: "m-first".into(),
    }
}

fn ticket_json(layout: Layout) -> Value {
    let item = stored_ticket().to_item(layout).unwrap();
    json!(
        item.iter()
            .map(|(k, v)| (k.clone(), json!({"S": v.as_s().unwrap()})))
            .collect::<serde_json::Map<_, _>>()
    )
}

/// GetItem of the event item: `shards` counters (`None`: K = 1 without the attribute, as
/// events seeded before sharding).
fn event_rule(shards: Option<u32>) -> Rule {
    let mut item = json!({"pk": {"S": "EVENT#e-1"}, "sk": {"S": "META"}, "capacity": {"N": "10"}});
    match shards {
        Some(k) => item["shards"] = json!({"N": k.to_string()}),
        None => item["issued"] = json!({"N": "0"}),
    }
    mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| r.key().and_then(|k| k.get("sk")).and_then(|s| s.as_s().ok()) == Some(&"META".to_owned()))
        .then_http_response(move || response(200, json!({"Item": item.clone()})))
}

fn client(rules: &[&Rule]) -> aws_sdk_dynamodb::Client {
    mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |config| config
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled()))
}

fn request() -> TicketRequest {
    TicketRequest::parse(r#"{"eventId":"e-1","userId":"u-1"}"#).unwrap()
}

/// The counter each transaction targeted, in order.
fn recording(
    tried: &Arc<Mutex<Vec<String>>>,
) -> impl Fn(&aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput) -> bool + Send + Sync + 'static
{
    let tried = tried.clone();
    move |input| {
        let key = input.transact_items()[1].update().unwrap().key();
        tried.lock().unwrap().push(key["pk"].as_s().unwrap().clone());
        true
    }
}

async fn issue(table: &TicketTable, deadline: Deadline) -> Result<Issuance, IssueError> {
    table
        .issue(&request(), "m-1", deadline, &shared::metrics::Recorder::detached())
        .await
}

#[tokio::test]
async fn a_conflict_is_retried_in_the_invocation_and_then_issues() {
    let event = event_rule(None);
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .http_response(|| cancelled(vec![passed(), conflict()]))
        .times(3)
        .http_response(committed)
        .build();
    let table = TicketTable::new(client(&[&event, &transact]), "tickets");
    let issuance = issue(&table, Deadline::NONE).await.unwrap();
    assert!(
        matches!(&issuance, Issuance::Issued(t) if t.message_id == "m-1"),
        "{issuance:?}"
    );
    assert_eq!(transact.num_calls(), 4);
    assert_eq!(event.num_calls(), 1);
}

/// Conflicts retried away inside the invocation still count: the metric shows contention the
/// records' outcomes hide.
#[tokio::test]
async fn conflicts_retried_away_are_counted_on_the_invocations_metrics() {
    let event = event_rule(None);
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .http_response(|| cancelled(vec![passed(), conflict()]))
        .times(3)
        .http_response(committed)
        .build();
    let table = TicketTable::new(client(&[&event, &transact]), "tickets");
    let metrics = shared::metrics::Recorder::detached();
    let issuance = table.issue(&request(), "m-1", Deadline::NONE, &metrics).await.unwrap();
    assert!(matches!(issuance, Issuance::Issued(_)), "{issuance:?}");
    let counts = metrics.collected().counts;
    assert_eq!(counts.get("TransactionConflicts"), Some(&3), "{counts:?}");
    assert_eq!(counts.get("TableThrottles"), Some(&0), "{counts:?}");
}

/// The old code gave up after 4 attempts (about 0.3 s); now the deadline decides. On tokio's
/// paused clock: 5 s left, 3 s of margin, so 2 s of pauses of 10–500 ms each.
#[tokio::test(start_paused = true)]
async fn conflicts_are_retried_for_as_long_as_the_deadline_allows() {
    let event = event_rule(Some(4));
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .http_response(|| cancelled(vec![passed(), conflict()]))
        .repeatedly()
        .build();
    let table = TicketTable::new(client(&[&event, &transact]), "tickets");
    let started = tokio::time::Instant::now();
    let error = issue(&table, Deadline::after(Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert!(started.elapsed() <= Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(transact.num_calls() > 5, "{} attempts", transact.num_calls());
    assert!(
        matches!(error.problem, Problem::Conflict { attempts, .. } if attempts as usize == transact.num_calls()),
        "{error}"
    );
    let record = RecordError::from(error);
    assert!(!record.is_permanent());
    assert_eq!(record.kind(), "transaction-conflict");
    assert!(
        record.message().contains("m-1") && record.message().contains("tickets"),
        "{record}"
    );
}

#[tokio::test]
async fn throttling_as_a_cancellation_reason_or_an_exception_is_retried_then_issues() {
    let event = event_rule(None);
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .http_response(|| cancelled(vec![json!({"Code": "ThrottlingError", "Message": THROTTLED_MESSAGE}), passed()]))
        .http_response(|| {
            cancelled(vec![
                passed(),
                json!({"Code": "ProvisionedThroughputExceeded", "Message": "The level of configured provisioned throughput for the table was exceeded."}),
            ])
        })
        .http_response(|| exception("ThrottlingException", THROTTLED_MESSAGE))
        .http_response(|| {
            exception(
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
            )
        })
        .http_response(|| exception("RequestLimitExceeded", "Throughput exceeds the current throughput limit for your account."))
        .http_response(committed)
        .build();
    let table = TicketTable::new(client(&[&event, &transact]), "tickets");
    assert!(matches!(issue(&table, Deadline::NONE).await, Ok(Issuance::Issued(_))));
    assert_eq!(transact.num_calls(), 6);
}

#[tokio::test(start_paused = true)]
async fn throttling_that_outlasts_the_deadline_is_a_retryable_throttled_error() {
    let event = event_rule(None);
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .http_response(|| exception("ThrottlingException", THROTTLED_MESSAGE))
        .repeatedly()
        .build();
    let table = TicketTable::new(client(&[&event, &transact]), "tickets");
    let error = issue(&table, Deadline::after(Duration::from_secs(4)))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "throttled", "{error}");
    assert!(!error.is_permanent());
    assert!(error.to_string().contains("Throughput exceeds"), "{error}");
}

#[tokio::test]
async fn a_validation_error_or_an_unknown_reason_is_permanent_with_its_own_kind() {
    for (reasons, kind) in [
        (
            vec![
                passed(),
                json!({"Code": "ValidationError", "Message": "An operand in the update expression has an incorrect data type"}),
            ],
            "malformed-event",
        ),
        (
            vec![
                json!({"Code": "ItemCollectionSizeLimitExceeded", "Message": "Collection size exceeded."}),
                passed(),
            ],
            "transaction-rejected",
        ),
        (vec![json!({"Code": "SomethingNew"}), passed()], "transaction-rejected"),
    ] {
        let event = event_rule(None);
        let answer = reasons.clone();
        let transact =
            mock!(aws_sdk_dynamodb::Client::transact_write_items).then_http_response(move || cancelled(answer.clone()));
        let table = TicketTable::new(client(&[&event, &transact]), "tickets");
        let error = issue(&table, Deadline::NONE).await.unwrap_err();
        assert_eq!(error.kind(), kind, "{error}");
        assert!(error.is_permanent(), "{error}");
        assert_eq!(transact.num_calls(), 1, "not retried: {error}");
    }
}

#[tokio::test]
async fn server_errors_are_retryable_and_not_retried_here() {
    let event = event_rule(None);
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items).then_http_response(|| {
        response(
            500,
            json!({"__type": format!("{PREFIX}InternalServerError"), "message": "Internal server error"}),
        )
    });
    let table = TicketTable::new(client(&[&event, &transact]), "tickets");
    let error = issue(&table, Deadline::NONE).await.unwrap_err();
    assert_eq!(error.kind(), "tickets-unavailable", "{error}");
    assert!(!RecordError::from(error).is_permanent());
    assert_eq!(transact.num_calls(), 1);
}

#[tokio::test]
async fn an_event_without_an_item_is_unknown_and_nothing_is_written() {
    let missing = mock!(aws_sdk_dynamodb::Client::get_item).then_http_response(|| response(200, json!({})));
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items).then_http_response(committed);
    let table = TicketTable::new(client(&[&missing, &transact]), "tickets");
    let error = issue(&table, Deadline::NONE).await.unwrap_err();
    assert!(
        matches!(&error.problem, Problem::UnknownEvent { key } if key == "EVENT#e-1/META"),
        "{error}"
    );
    assert!(error.is_permanent());
    assert_eq!(transact.num_calls(), 0);
}

#[tokio::test]
async fn an_event_without_capacity_or_with_a_bad_shard_count_is_malformed() {
    for (item, mentions) in [
        (
            json!({"pk": {"S": "EVENT#e-1"}, "sk": {"S": "META"}, "issued": {"N": "0"}}),
            "capacity",
        ),
        (
            json!({"pk": {"S": "EVENT#e-1"}, "sk": {"S": "META"}, "capacity": {"N": "1"}}),
            "issued",
        ),
        (
            json!({"pk": {"S": "EVENT#e-1"}, "sk": {"S": "META"}, "capacity": {"N": "1"}, "shards": {"N": "100"}}),
            "shards",
        ),
    ] {
        let event = mock!(aws_sdk_dynamodb::Client::get_item)
            .then_http_response(move || response(200, json!({"Item": item.clone()})));
        let table = TicketTable::new(client(&[&event]), "tickets");
        let error = issue(&table, Deadline::NONE).await.unwrap_err();
        assert_eq!(error.kind(), "malformed-event", "{error}");
        assert!(error.to_string().contains(mentions), "{mentions}: {error}");
    }
}

#[tokio::test]
async fn an_existing_ticket_comes_back_from_the_cancellation_or_is_read_back() {
    let event = event_rule(Some(2));
    let returned = mock!(aws_sdk_dynamodb::Client::transact_write_items).then_http_response(|| {
        cancelled(vec![
            condition_failed(Some(ticket_json(Layout::new(2).unwrap()))),
            passed(),
        ])
    });
    let table = TicketTable::new(client(&[&event, &returned]), "tickets");
    assert_eq!(
        issue(&table, Deadline::NONE).await.unwrap(),
        Issuance::AlreadyIssued(stored_ticket())
    );

    let event = event_rule(None);
    let bare = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .then_http_response(|| cancelled(vec![condition_failed(None), passed()]));
    let read = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| {
            r.key().and_then(|k| k.get("sk")).and_then(|s| s.as_s().ok()) == Some(&"TICKET#u-1".to_owned())
        })
        .then_http_response(|| response(200, json!({"Item": ticket_json(Layout::single())})));
    let table = TicketTable::new(client(&[&event, &bare, &read]), "tickets");
    assert_eq!(
        issue(&table, Deadline::NONE).await.unwrap(),
        Issuance::AlreadyIssued(stored_ticket())
    );
    assert_eq!(read.num_calls(), 1);
}

#[tokio::test]
async fn one_counter_sells_out_on_its_own_refusal() {
    let event = event_rule(None);
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .then_http_response(|| cancelled(vec![passed(), condition_failed(Some(counter(2, 2)))]));
    let table = TicketTable::new(client(&[&event, &transact]), "tickets");
    assert_eq!(
        issue(&table, Deadline::NONE).await.unwrap(),
        Issuance::SoldOut { capacity: 2, issued: 2 }
    );
    assert_eq!(transact.num_calls(), 1);
}

#[tokio::test]
async fn every_counter_is_tried_once_before_sold_out() {
    let event = event_rule(Some(3));
    let tried = Arc::new(Mutex::new(Vec::new()));
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .match_requests(recording(&tried))
        .then_http_response(|| cancelled(vec![passed(), condition_failed(Some(counter(4, 4)))]));
    let snapshot = mock!(aws_sdk_dynamodb::Client::transact_get_items).then_http_response(|| response(500, json!({})));
    let table = TicketTable::new(client(&[&event, &transact, &snapshot]), "tickets");
    assert_eq!(
        issue(&table, Deadline::NONE).await.unwrap(),
        Issuance::SoldOut {
            capacity: 12,
            issued: 12
        }
    );
    let mut tried = tried.lock().unwrap().clone();
    tried.sort();
    assert_eq!(tried, ["EVENT#e-1#SHARD#0", "EVENT#e-1#SHARD#1", "EVENT#e-1#SHARD#2"]);
    assert_eq!(snapshot.num_calls(), 0, "its own refusals are a consistent answer");
}

#[tokio::test]
async fn a_full_counter_sends_the_request_to_another_that_has_seats() {
    let event = event_rule(Some(2));
    let tried = Arc::new(Mutex::new(Vec::new()));
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .match_requests(recording(&tried))
        .sequence()
        .http_response(|| cancelled(vec![passed(), condition_failed(Some(counter(5, 5)))]))
        .http_response(committed)
        .build();
    let table = TicketTable::new(client(&[&event, &transact]), "tickets");
    assert!(matches!(issue(&table, Deadline::NONE).await, Ok(Issuance::Issued(_))));
    let tried = tried.lock().unwrap().clone();
    assert_eq!(tried.len(), 2);
    assert_ne!(tried[0], tried[1], "the full counter is not tried again");
}

/// The table remembers the counters it saw full: the next request goes straight to a snapshot of
/// the ticket and every counter, which decides sold out, or finds seats and reopens a counter.
#[tokio::test]
async fn counters_seen_full_are_skipped_and_sold_out_is_confirmed_by_one_snapshot() {
    let event = event_rule(Some(2));
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .http_response(|| cancelled(vec![passed(), condition_failed(Some(counter(3, 3)))]))
        .times(2)
        .http_response(committed)
        .build();
    let snapshot = mock!(aws_sdk_dynamodb::Client::transact_get_items)
        .sequence()
        .http_response(|| {
            cancelled(vec![passed(), conflict(), passed()]) // a concurrent write held a counter
        })
        .http_response(|| {
            response(
                200,
                json!({"Responses": [{}, {"Item": counter(3, 3)}, {"Item": counter(3, 3)}]}),
            )
        })
        .http_response(|| {
            response(
                200,
                json!({"Responses": [{}, {"Item": counter(3, 3)}, {"Item": counter(4, 3)}]}),
            )
        })
        .build();
    let table = TicketTable::new(client(&[&event, &transact, &snapshot]), "tickets");
    assert_eq!(
        issue(&table, Deadline::NONE).await.unwrap(),
        Issuance::SoldOut { capacity: 6, issued: 6 }
    );
    assert_eq!((transact.num_calls(), snapshot.num_calls()), (2, 0));

    let later = table.clone();
    assert_eq!(
        issue(&later, Deadline::NONE).await.unwrap(),
        Issuance::SoldOut { capacity: 6, issued: 6 }
    );
    assert_eq!(
        (transact.num_calls(), snapshot.num_calls()),
        (2, 2),
        "no transaction, one retried snapshot"
    );

    // Seats on counter 1 (its capacity was raised): it is tried again and gives the seat.
    assert!(matches!(issue(&table, Deadline::NONE).await, Ok(Issuance::Issued(_))));
    assert_eq!((transact.num_calls(), snapshot.num_calls()), (3, 3));
    assert_eq!(event.num_calls(), 1, "the layout is read once");
}

#[tokio::test]
async fn a_snapshot_that_finds_the_ticket_answers_already_issued() {
    let event = event_rule(Some(2));
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .http_response(|| cancelled(vec![passed(), condition_failed(Some(counter(1, 1)))]))
        .times(2)
        .build();
    let snapshot = mock!(aws_sdk_dynamodb::Client::transact_get_items).then_http_response(|| {
        response(200, json!({"Responses": [{"Item": ticket_json(Layout::new(2).unwrap())}, {"Item": counter(1, 1)}, {"Item": counter(1, 1)}]}))
    });
    let table = TicketTable::new(client(&[&event, &transact, &snapshot]), "tickets");
    assert!(matches!(
        issue(&table, Deadline::NONE).await,
        Ok(Issuance::SoldOut { .. })
    ));
    assert_eq!(
        issue(&table, Deadline::NONE).await.unwrap(),
        Issuance::AlreadyIssued(stored_ticket())
    );
}

#[tokio::test]
async fn a_missing_counter_is_a_malformed_event_and_a_missing_event_item_unknown() {
    let event = event_rule(Some(3));
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .then_http_response(|| cancelled(vec![passed(), condition_failed(None)]));
    let absent = mock!(aws_sdk_dynamodb::Client::get_item).then_http_response(|| response(200, json!({})));
    let table = TicketTable::new(client(&[&event, &transact, &absent]), "tickets");
    let error = issue(&table, Deadline::NONE).await.unwrap_err();
    assert_eq!(error.kind(), "malformed-event", "{error}");
    assert!(
        error.to_string().contains("#SHARD#") && error.to_string().contains("missing"),
        "{error}"
    );

    // K = 1: the counter is the event item; deleted since its layout was read, the event is unknown.
    let event_then_gone = mock!(aws_sdk_dynamodb::Client::get_item)
        .sequence()
        .http_response(|| {
            let item =
                json!({"pk": {"S": "EVENT#e-1"}, "sk": {"S": "META"}, "capacity": {"N": "1"}, "issued": {"N": "0"}});
            response(200, json!({"Item": item}))
        })
        .http_response(|| response(200, json!({})))
        .build();
    let table = TicketTable::new(client(&[&event_then_gone, &transact]), "tickets");
    let error = issue(&table, Deadline::NONE).await.unwrap_err();
    assert_eq!(error.kind(), "unknown-event", "{error}");
}
