//! The error answers AWS services really give, in each service's own protocol, so the SDK in a
//! worker reads an answer of the proxy exactly as it reads AWS's: the fault hook's server errors
//! and throttling, and the limits model's conflicts and throttles.
//!
//! Protocols: DynamoDB and SQS speak awsJson1_0 (the shape id in `__type`; SQS also sends the
//! awsQuery code in `x-amzn-query-error`, which the SDK prefers), SNS awsQuery (an XML
//! `ErrorResponse`), SESv2 restJson1 (the code in `x-amzn-ErrorType`).

use serde_json::{Value, json};

use crate::call::Service;
use crate::tables::TableInfo;

/// An answer the proxy gives instead of forwarding: what the worker's SDK receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// The error code as the SDK reads it (`TransactionCanceledException`, `Throttling`).
    pub code: String,
}

/// A fault the chaos run injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorAnswer {
    /// 500 InternalFailure (DynamoDB: InternalServerError).
    ServerError,
    /// The service's generic throttling error (400; SESv2: 429).
    Throttling,
}

/// `answer` as `service` sends it.
pub fn fault(service: Service, answer: ErrorAnswer) -> Answer {
    const UNKNOWN: &str = "The request processing has failed because of an unknown error, exception or failure.";
    match (service, answer) {
        (Service::DynamoDb, ErrorAnswer::Throttling) => dynamodb(
            400,
            "ThrottlingException",
            json!({"message": "Rate of requests exceeds the allowed throughput."}),
        ),
        (Service::DynamoDb, ErrorAnswer::ServerError) => {
            dynamodb(500, "InternalServerError", json!({"message": "Internal server error"}))
        }
        (Service::Sqs, ErrorAnswer::Throttling) => sqs(400, "RequestThrottled", "Sender", "Request is throttled."),
        (Service::Sqs, ErrorAnswer::ServerError) => sqs(500, "InternalFailure", "Receiver", UNKNOWN),
        (Service::Sns | Service::Other, ErrorAnswer::Throttling) => sns_throttled(),
        (Service::Sns | Service::Other, ErrorAnswer::ServerError) => {
            query_xml(500, "Receiver", "InternalFailure", UNKNOWN)
        }
        (Service::Ses, ErrorAnswer::Throttling) => rest_json(429, "TooManyRequestsException", "Too many requests"),
        (Service::Ses, ErrorAnswer::ServerError) => rest_json(500, "InternalFailure", UNKNOWN),
    }
}

/// One action's cancellation reason in a TransactionCanceledException, with the message the
/// DynamoDB API reference gives for it (TransactWriteItems, "Cancellation reason codes and
/// possible error messages").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CancellationReason {
    /// The action was fine; the transaction was cancelled for another action's reason.
    None,
    /// Another transaction holds the item.
    TransactionConflict,
    /// On-demand table: the item's partition is over its throughput.
    ThrottlingError,
    /// Provisioned table: the item's partition is over its throughput.
    ProvisionedThroughputExceeded,
}

impl CancellationReason {
    pub fn code(self) -> &'static str {
        match self {
            CancellationReason::None => "None",
            CancellationReason::TransactionConflict => "TransactionConflict",
            CancellationReason::ThrottlingError => "ThrottlingError",
            CancellationReason::ProvisionedThroughputExceeded => "ProvisionedThroughputExceeded",
        }
    }

    fn message(self) -> Option<&'static str> {
        match self {
            CancellationReason::None => None,
            CancellationReason::TransactionConflict => Some("Transaction is ongoing for the item."),
            CancellationReason::ThrottlingError => Some(ON_DEMAND_THROTTLED),
            CancellationReason::ProvisionedThroughputExceeded => Some(PROVISIONED_THROTTLED),
        }
    }

    /// The reason a throttled item of `table` gets.
    pub fn throttled(table: &TableInfo) -> Self {
        if table.on_demand {
            CancellationReason::ThrottlingError
        } else {
            CancellationReason::ProvisionedThroughputExceeded
        }
    }
}

const ON_DEMAND_THROTTLED: &str = "Throughput exceeds the current capacity of your table or index. DynamoDB is \
automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a \
hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html";
const PROVISIONED_THROTTLED: &str = "The level of configured provisioned throughput for the table was exceeded. \
Consider increasing your provisioning level with the UpdateTable API.";

/// A TransactWriteItems (or TransactGetItems) cancelled: one reason per action, in request
/// order, `None` for the actions that were fine. The message lists the codes as DynamoDB does.
pub fn transaction_canceled(reasons: &[CancellationReason]) -> Answer {
    let codes: Vec<&str> = reasons.iter().map(|r| r.code()).collect();
    let reasons: Vec<Value> = reasons
        .iter()
        .map(|reason| match reason.message() {
            Some(message) => json!({"Code": reason.code(), "Message": message}),
            None => json!({"Code": reason.code()}),
        })
        .collect();
    dynamodb(
        400,
        "TransactionCanceledException",
        json!({
            "Message": format!(
                "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                codes.join(", ")
            ),
            "CancellationReasons": reasons,
        }),
    )
}

/// A PutItem, UpdateItem or DeleteItem on an item an ongoing transaction holds.
pub fn transaction_conflict() -> Answer {
    dynamodb(
        400,
        "TransactionConflictException",
        json!({"message": "Transaction is ongoing for the item"}),
    )
}

/// A single-item call over its partition's throughput: `ThrottlingException` on an on-demand
/// table, `ProvisionedThroughputExceededException` on a provisioned one, each with the
/// throttling reason `Table<Read|Write>KeyRangeThroughputExceeded` naming the table.
pub fn dynamodb_throttled(table: &TableInfo, write: bool) -> Answer {
    let reason = json!({
        "reason": format!("Table{}KeyRangeThroughputExceeded", if write { "Write" } else { "Read" }),
        "resource": table.arn,
    });
    if table.on_demand {
        dynamodb(
            400,
            "ThrottlingException",
            json!({"message": ON_DEMAND_THROTTLED, "throttlingReasons": [reason]}),
        )
    } else {
        dynamodb(
            400,
            "ProvisionedThroughputExceededException",
            json!({"message": PROVISIONED_THROTTLED, "ThrottlingReasons": [reason]}),
        )
    }
}

/// SESv2 SendEmail over the account's maximum send rate: 429 `TooManyRequestsException`,
/// "Maximum sending rate exceeded." (SES Developer Guide, "Errors related to the sending quotas";
/// the SESv2 endpoint answers it as restJson1).
pub fn ses_sending_rate_exceeded() -> Answer {
    rest_json(429, "TooManyRequestsException", "Maximum sending rate exceeded.")
}

/// SNS over its per-account API rate: 400 `Throttling`, "Rate exceeded".
pub fn sns_throttled() -> Answer {
    query_xml(400, "Sender", "Throttling", "Rate exceeded")
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// awsJson1_0 as DynamoDB sends it: the shape id in `__type`, the shape's members beside it.
fn dynamodb(status: u16, code: &str, mut members: Value) -> Answer {
    members["__type"] = json!(format!("com.amazonaws.dynamodb.v20120810#{code}"));
    Answer {
        status,
        headers: vec![
            ("content-type", "application/x-amz-json-1.0".to_owned()),
            ("x-amzn-requestid", request_id()),
        ],
        body: members.to_string(),
        code: code.to_owned(),
    }
}

/// SQS speaks awsJson1_0 with awsQueryCompatible: the SDK takes the code from
/// `x-amzn-query-error` (`<code>;<Sender|Receiver>`), which overrides `__type`.
fn sqs(status: u16, code: &str, fault: &str, message: &str) -> Answer {
    Answer {
        status,
        headers: vec![
            ("content-type", "application/x-amz-json-1.0".to_owned()),
            ("x-amzn-requestid", request_id()),
            ("x-amzn-query-error", format!("{code};{fault}")),
        ],
        body: json!({"__type": format!("com.amazonaws.sqs#{code}"), "message": message}).to_string(),
        code: code.to_owned(),
    }
}

/// awsQuery: an XML ErrorResponse.
fn query_xml(status: u16, kind: &str, code: &str, message: &str) -> Answer {
    let request_id = request_id();
    Answer {
        status,
        headers: vec![
            ("content-type", "text/xml".to_owned()),
            ("x-amzn-requestid", request_id.clone()),
        ],
        body: format!(
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>{kind}</Type>\
             <Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ),
        code: code.to_owned(),
    }
}

/// restJson1: the code in `x-amzn-ErrorType`, the message in the body.
fn rest_json(status: u16, code: &str, message: &str) -> Answer {
    Answer {
        status,
        headers: vec![
            ("content-type", "application/json".to_owned()),
            ("x-amzn-errortype", code.to_owned()),
            ("x-amzn-requestid", request_id()),
        ],
        body: json!({"message": message}).to_string(),
        code: code.to_owned(),
    }
}

/// The error code of an emulator's answer (`None` for a success): from `x-amzn-query-error`,
/// `x-amzn-ErrorType`, a JSON `__type` or an XML `<Code>`, as the SDKs read them.
pub fn error_code(status: u16, headers: &hyper::HeaderMap, body: &[u8]) -> Option<String> {
    if status < 300 {
        return None;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(code) = header("x-amzn-query-error").and_then(|v| v.split(';').next()) {
        return Some(code.to_owned());
    }
    if let Some(code) = header("x-amzn-errortype") {
        return Some(code.split(':').next().unwrap_or(code).to_owned());
    }
    if let Ok(json) = serde_json::from_slice::<Value>(body)
        && let Some(kind) = json["__type"].as_str()
    {
        return Some(kind.rsplit('#').next().unwrap_or(kind).to_owned());
    }
    let text = String::from_utf8_lossy(body);
    let code = text
        .split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next());
    Some(code.map_or_else(|| format!("HTTP {status}"), str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancellation_lists_one_reason_per_action_in_order() {
        let answer = transaction_canceled(&[CancellationReason::None, CancellationReason::TransactionConflict]);
        let body: Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(answer.status, 400);
        assert_eq!(
            body["__type"],
            "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
        );
        assert_eq!(body["CancellationReasons"][0], json!({"Code": "None"}));
        assert_eq!(body["CancellationReasons"][1]["Code"], "TransactionConflict");
        assert!(
            body["Message"]
                .as_str()
                .unwrap()
                .ends_with("[None, TransactionConflict]")
        );
    }

    #[test]
    fn error_codes_are_read_from_each_protocol() {
        let headers = |pairs: &[(&'static str, String)]| {
            let mut map = hyper::HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, value.parse().unwrap());
            }
            map
        };
        for answer in [
            transaction_conflict(),
            sns_throttled(),
            ses_sending_rate_exceeded(),
            fault(Service::Sqs, ErrorAnswer::Throttling),
        ] {
            assert_eq!(
                error_code(answer.status, &headers(&answer.headers), answer.body.as_bytes()).as_deref(),
                Some(answer.code.as_str())
            );
        }
        assert_eq!(error_code(200, &hyper::HeaderMap::new(), b"{}"), None);
        assert_eq!(
            error_code(502, &hyper::HeaderMap::new(), b"no").as_deref(),
            Some("HTTP 502")
        );
    }
}
