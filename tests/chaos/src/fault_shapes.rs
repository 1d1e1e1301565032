//! Which AWS service a request is for, and the error answers each service really gives, in its
//! own protocol, so the SDK in the worker reads them exactly as it reads AWS's.

/// The service of a request, from its `X-Amz-Target` (JSON protocols) or its SigV4 credential
/// scope (`Credential=…/<date>/<region>/<service>/aws4_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    DynamoDb,
    Sqs,
    Sns,
    Ses,
    Other,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Service::DynamoDb,
        Service::Sqs,
        Service::Sns,
        Service::Ses,
        Service::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Service::DynamoDb => "dynamodb",
            Service::Sqs => "sqs",
            Service::Sns => "sns",
            Service::Ses => "ses",
            Service::Other => "other",
        }
    }

    pub fn identify(target: Option<&str>, authorization: Option<&str>) -> Service {
        if let Some(target) = target {
            if target.starts_with("DynamoDB_") {
                return Service::DynamoDb;
            }
            if target.starts_with("AmazonSQS.") {
                return Service::Sqs;
            }
        }
        let scope = authorization
            .and_then(|auth| auth.split("Credential=").nth(1))
            .and_then(|credential| credential.split(['/', ',']).nth(3));
        match scope {
            Some("dynamodb") => Service::DynamoDb,
            Some("sqs") => Service::Sqs,
            Some("sns") => Service::Sns,
            Some("ses") => Service::Ses,
            _ => Service::Other,
        }
    }
}

/// An error answer the proxy gives instead of forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorAnswer {
    /// 500 InternalFailure (DynamoDB: InternalServerError).
    ServerError,
    /// The service's throttling error (400; SESv2: 429).
    Throttling,
}

/// Status, headers and body of `answer` as `service` sends it.
pub fn error_response(service: Service, answer: ErrorAnswer) -> (u16, Vec<(&'static str, String)>, String) {
    let request_id = uuid::Uuid::new_v4().to_string();
    match (service, answer) {
        // awsJson1_0: the shape id in __type.
        (Service::DynamoDb, ErrorAnswer::Throttling) => json10(
            400,
            "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
            request_id,
        ),
        (Service::DynamoDb, ErrorAnswer::ServerError) => json10(
            500,
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
            "Internal server error",
            request_id,
        ),
        // SQS speaks awsJson1_0 with awsQueryCompatible: the SDK takes the code from
        // x-amzn-query-error (`<code>;<Sender|Receiver>`), which overrides __type.
        (Service::Sqs, ErrorAnswer::Throttling) => {
            let (status, mut headers, body) = json10(
                400,
                "com.amazonaws.sqs#RequestThrottled",
                "Request is throttled.",
                request_id,
            );
            headers.push(("x-amzn-query-error", "RequestThrottled;Sender".to_owned()));
            (status, headers, body)
        }
        (Service::Sqs, ErrorAnswer::ServerError) => {
            let (status, mut headers, body) = json10(
                500,
                "com.amazonaws.sqs#InternalFailure",
                "The request processing has failed because of an unknown error, exception or failure.",
                request_id,
            );
            headers.push(("x-amzn-query-error", "InternalFailure;Receiver".to_owned()));
            (status, headers, body)
        }
        // awsQuery: an XML ErrorResponse.
        (Service::Sns | Service::Other, ErrorAnswer::Throttling) => {
            query_xml(400, "Sender", "Throttling", "Rate exceeded", request_id)
        }
        (Service::Sns | Service::Other, ErrorAnswer::ServerError) => query_xml(
            500,
            "Receiver",
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
            request_id,
        ),
        // restJson1: the code in x-amzn-ErrorType, the message in the body.
        (Service::Ses, ErrorAnswer::Throttling) => {
            rest_json(429, "TooManyRequestsException", "Too many requests", request_id)
        }
        (Service::Ses, ErrorAnswer::ServerError) => rest_json(
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
            request_id,
        ),
    }
}

fn json10(status: u16, shape: &str, message: &str, request_id: String) -> (u16, Vec<(&'static str, String)>, String) {
    (
        status,
        vec![
            ("content-type", "application/x-amz-json-1.0".to_owned()),
            ("x-amzn-requestid", request_id),
        ],
        serde_json::json!({"__type": shape, "message": message}).to_string(),
    )
}

fn query_xml(
    status: u16,
    kind: &str,
    code: &str,
    message: &str,
    request_id: String,
) -> (u16, Vec<(&'static str, String)>, String) {
    let body = format!(
        "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>{kind}</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    );
    (
        status,
        vec![
            ("content-type", "text/xml".to_owned()),
            ("x-amzn-requestid", request_id),
        ],
        body,
    )
}

fn rest_json(status: u16, code: &str, message: &str, request_id: String) -> (u16, Vec<(&'static str, String)>, String) {
    (
        status,
        vec![
            ("content-type", "application/json".to_owned()),
            ("x-amzn-errortype", code.to_owned()),
            ("x-amzn-requestid", request_id),
        ],
        serde_json::json!({"message": message}).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_told_apart_by_target_or_credential_scope() {
        assert_eq!(
            Service::identify(Some("DynamoDB_20120810.PutItem"), None),
            Service::DynamoDb
        );
        assert_eq!(Service::identify(Some("AmazonSQS.SendMessage"), None), Service::Sqs);
        let auth = |service: &str| {
            format!(
                "AWS4-HMAC-SHA256 Credential=testing/20261122/us-east-1/{service}/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=abc"
            )
        };
        assert_eq!(Service::identify(None, Some(&auth("sns"))), Service::Sns);
        assert_eq!(Service::identify(None, Some(&auth("ses"))), Service::Ses);
        assert_eq!(Service::identify(None, Some(&auth("sqs"))), Service::Sqs);
        assert_eq!(Service::identify(None, Some(&auth("lambda"))), Service::Other);
        assert_eq!(Service::identify(None, None), Service::Other);
    }
}
