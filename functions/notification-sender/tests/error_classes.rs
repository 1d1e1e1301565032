//! How each SES and SNS error is classed, driven through the real senders: service answers come
//! from aws-smithy-mocks (precise, one per error), timeouts and refused connections from real
//! loopback sockets. The sender's From address is `tickets@example.com`.

use std::net::TcpListener;
use std::time::Duration;

use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::error as ses;
use aws_sdk_sns::operation::publish::PublishError;
use aws_sdk_sns::types::error as sns;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use notification_sender::classify::{FailureClass, SendFailure};
use notification_sender::email::{EmailSender, SesEmailSender};
use notification_sender::push::{PushSender, PushTarget, SnsPushSender};
use notification_sender::testing::{sample_email, sample_push};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:pushes";
const ENDPOINT: &str = "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/app/device-1";

/// Builds the modeled error a mocked SendEmail answers with.
type SesErrorFn = fn() -> SendEmailError;

fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

fn http(status: u16, error_type: Option<&str>, body: &str) -> HttpResponse {
    let mut response = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body.to_owned()));
    if let Some(error_type) = error_type {
        response.headers_mut().insert("x-amzn-errortype", error_type.to_owned());
    }
    response
}

/// SNS (awsQuery) error body.
fn sns_error_body(code: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} happened</Message></Error>\
         <RequestId>r-1</RequestId></ErrorResponse>"
    )
}

async fn send_with_error(error: impl Fn() -> SendEmailError + Send + Sync + 'static) -> SendFailure {
    let rule = mock!(aws_sdk_sesv2::Client::send_email).then_error(error);
    let client = mock_client!(aws_sdk_sesv2, RuleMode::Sequential, [&rule], |c| c
        .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled()));
    SesEmailSender::new(client, "tickets@example.com", None)
        .send(&sample_email())
        .await
        .unwrap_err()
}

async fn send_with_http(response: impl Fn() -> HttpResponse + Send + Sync + 'static) -> SendFailure {
    let rule = mock!(aws_sdk_sesv2::Client::send_email).then_http_response(response);
    let client = mock_client!(aws_sdk_sesv2, RuleMode::Sequential, [&rule], |c| c
        .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled()));
    SesEmailSender::new(client, "tickets@example.com", None)
        .send(&sample_email())
        .await
        .unwrap_err()
}

async fn publish_with_error(
    target: PushTarget,
    error: impl Fn() -> PublishError + Send + Sync + 'static,
) -> SendFailure {
    let rule = mock!(aws_sdk_sns::Client::publish).then_error(error);
    let client = mock_client!(aws_sdk_sns, RuleMode::Sequential, [&rule], |c| c
        .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled()));
    SnsPushSender::new(client)
        .publish(&sample_push(target))
        .await
        .unwrap_err()
}

async fn publish_with_http(status: u16, code: &str) -> SendFailure {
    let body = sns_error_body(code);
    let rule = mock!(aws_sdk_sns::Client::publish).then_http_response(move || http(status, None, &body));
    let client = mock_client!(aws_sdk_sns, RuleMode::Sequential, [&rule], |c| c
        .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled()));
    SnsPushSender::new(client)
        .publish(&sample_push(PushTarget::Topic(TOPIC.into())))
        .await
        .unwrap_err()
}

fn assert_class(failure: &SendFailure, class: FailureClass, code: &str) {
    assert_eq!((failure.class, failure.code.as_str()), (class, code), "{failure}");
}

fn message_rejected(message: &'static str) -> impl Fn() -> SendEmailError + Send + Sync + 'static {
    move || {
        SendEmailError::MessageRejected(
            ses::MessageRejected::builder()
                .meta(meta("MessageRejected", message))
                .build(),
        )
    }
}

#[tokio::test]
async fn ses_refusals_of_the_recipient_or_content_are_rejections_with_addresses_masked() {
    let rejected = send_with_error(message_rejected("Illegal address: kim@example.com")).await;
    assert_class(&rejected, FailureClass::Rejected, "MessageRejected");
    assert!(
        rejected.message.contains("k***@example.com") && !rejected.message.contains("kim@"),
        "{rejected}"
    );
    assert_eq!(rejected.operation, "SES SendEmail");
    let listed = send_with_error(message_rejected("Address blacklisted.")).await;
    assert_class(&listed, FailureClass::Rejected, "MessageRejected");

    let bad_address = send_with_error(|| {
        SendEmailError::BadRequestException(
            ses::BadRequestException::builder()
                .meta(meta("BadRequestException", "Missing final '@domain'"))
                .build(),
        )
    })
    .await;
    assert_class(&bad_address, FailureClass::Rejected, "BadRequestException");

    let moto_style =
        send_with_http(|| http(400, Some("InvalidParameterValue"), r#"{"message":"Missing domain"}"#)).await;
    assert_class(&moto_style, FailureClass::Rejected, "InvalidParameterValue");
}

#[tokio::test]
async fn ses_refusing_our_sender_or_the_sandbox_refusing_a_recipient_is_misconfiguration() {
    for message in [
        // SES, an unverified sender (or its domain): the From address is named.
        "Email address is not verified. The following identities failed the check in region US-EAST-1: \
         tickets@example.com",
        // SES in the sandbox: every recipient that is not a verified identity.
        "Email address is not verified. The following identities failed the check in region US-EAST-1: \
         kim@example.com",
        // Sending authorization: this account may not use the identity.
        "User arn:aws:sts::123456789012:assumed-role/sender is not authorized to send from tickets@example.com",
        // Any refusal that names our sender.
        "Sender TICKETS@example.com is refused",
    ] {
        let failure = send_with_error(message_rejected(message)).await;
        assert_class(&failure, FailureClass::Misconfigured, "MessageRejected");
        assert!(!failure.message.contains("tickets@"), "masked: {failure}");
    }
}

#[tokio::test]
async fn ses_account_and_identity_problems_are_misconfiguration() {
    let cases: [(SesErrorFn, &str); 4] = [
        (
            || {
                SendEmailError::AccountSuspendedException(
                    ses::AccountSuspendedException::builder()
                        .meta(meta("AccountSuspendedException", "suspended"))
                        .build(),
                )
            },
            "AccountSuspendedException",
        ),
        (
            || {
                SendEmailError::SendingPausedException(
                    ses::SendingPausedException::builder()
                        .meta(meta("SendingPausedException", "paused"))
                        .build(),
                )
            },
            "SendingPausedException",
        ),
        (
            || {
                SendEmailError::MailFromDomainNotVerifiedException(
                    ses::MailFromDomainNotVerifiedException::builder()
                        .meta(meta("MailFromDomainNotVerifiedException", "mail from"))
                        .build(),
                )
            },
            "MailFromDomainNotVerifiedException",
        ),
        (
            || {
                SendEmailError::NotFoundException(
                    ses::NotFoundException::builder()
                        .meta(meta("NotFoundException", "configuration set does not exist"))
                        .build(),
                )
            },
            "NotFoundException",
        ),
    ];
    for (error, code) in cases {
        assert_class(&send_with_error(error).await, FailureClass::Misconfigured, code);
    }
    let denied = send_with_http(|| http(403, Some("AccessDeniedException"), r#"{"message":"not allowed"}"#)).await;
    assert_class(&denied, FailureClass::Misconfigured, "AccessDeniedException");
}

#[tokio::test]
async fn ses_throttling_and_unknown_4xx_errors_are_transient_and_5xx_ambiguous() {
    let throttled = send_with_error(|| {
        SendEmailError::TooManyRequestsException(
            ses::TooManyRequestsException::builder()
                .meta(meta("TooManyRequestsException", "slow down"))
                .build(),
        )
    })
    .await;
    assert_class(&throttled, FailureClass::Transient, "TooManyRequestsException");
    let quota = send_with_error(|| {
        SendEmailError::LimitExceededException(
            ses::LimitExceededException::builder()
                .meta(meta("LimitExceededException", "daily quota"))
                .build(),
        )
    })
    .await;
    assert_class(&quota, FailureClass::Transient, "LimitExceededException");
    for (status, error_type, class, code) in [
        (500, Some("InternalFailure"), FailureClass::Ambiguous, "InternalFailure"),
        (503, None, FailureClass::Ambiguous, "HTTP 503"),
        (429, None, FailureClass::Transient, "HTTP 429"),
        (
            400,
            Some("SomethingNewException"),
            FailureClass::Transient,
            "SomethingNewException",
        ),
    ] {
        let failure = send_with_http(move || http(status, error_type, r#"{"message":"oops"}"#)).await;
        assert_class(&failure, class, code);
    }
}

#[tokio::test]
async fn sns_refusals_of_a_device_endpoint_are_rejections_and_of_our_topic_misconfiguration() {
    let endpoint = || PushTarget::Endpoint(ENDPOINT.into());
    let disabled = publish_with_error(endpoint(), || {
        PublishError::EndpointDisabledException(
            sns::EndpointDisabledException::builder()
                .meta(meta("EndpointDisabled", "Endpoint is disabled"))
                .build(),
        )
    })
    .await;
    assert_class(&disabled, FailureClass::Rejected, "EndpointDisabled");
    let invalid = publish_with_error(endpoint(), || {
        PublishError::InvalidParameterException(
            sns::InvalidParameterException::builder()
                .meta(meta("InvalidParameter", "Invalid parameter: TargetArn"))
                .build(),
        )
    })
    .await;
    assert_class(&invalid, FailureClass::Rejected, "InvalidParameter");
    let invalid_value = publish_with_error(endpoint(), || {
        PublishError::InvalidParameterValueException(
            sns::InvalidParameterValueException::builder()
                .meta(meta("ParameterValueInvalid", "bad value"))
                .build(),
        )
    })
    .await;
    assert_class(&invalid_value, FailureClass::Rejected, "ParameterValueInvalid");

    let topic = || PushTarget::Topic(TOPIC.into());
    let invalid_topic = publish_with_error(topic(), || {
        PublishError::InvalidParameterException(
            sns::InvalidParameterException::builder()
                .meta(meta("InvalidParameter", "Invalid parameter: TopicArn"))
                .build(),
        )
    })
    .await;
    assert_class(&invalid_topic, FailureClass::Misconfigured, "InvalidParameter");
    let fifo_topic = publish_with_error(topic(), || {
        PublishError::InvalidParameterException(
            sns::InvalidParameterException::builder()
                .meta(meta(
                    "InvalidParameter",
                    "Invalid parameter: The MessageGroupId parameter is required for FIFO topics",
                ))
                .build(),
        )
    })
    .await;
    assert_class(&fifo_topic, FailureClass::Misconfigured, "InvalidParameter");
    let invalid_value_topic = publish_with_error(topic(), || {
        PublishError::InvalidParameterValueException(
            sns::InvalidParameterValueException::builder()
                .meta(meta("ParameterValueInvalid", "bad attribute"))
                .build(),
        )
    })
    .await;
    assert_class(
        &invalid_value_topic,
        FailureClass::Misconfigured,
        "ParameterValueInvalid",
    );
}

#[tokio::test]
async fn sns_not_found_is_the_users_for_a_device_endpoint_and_ours_for_the_topic() {
    let not_found = || {
        PublishError::NotFoundException(
            sns::NotFoundException::builder()
                .meta(meta("NotFound", "does not exist"))
                .build(),
        )
    };
    let device = publish_with_error(PushTarget::Endpoint(ENDPOINT.into()), not_found).await;
    assert_class(&device, FailureClass::Rejected, "NotFound");
    let topic = publish_with_error(PushTarget::Topic(TOPIC.into()), not_found).await;
    assert_class(&topic, FailureClass::Misconfigured, "NotFound");
}

#[tokio::test]
async fn sns_authorization_and_kms_problems_are_misconfiguration_its_throttling_transient_and_faults_ambiguous() {
    let topic = || PushTarget::Topic(TOPIC.into());
    let denied = publish_with_error(topic(), || {
        PublishError::AuthorizationErrorException(
            sns::AuthorizationErrorException::builder()
                .meta(meta("AuthorizationError", "not authorized"))
                .build(),
        )
    })
    .await;
    assert_class(&denied, FailureClass::Misconfigured, "AuthorizationError");
    let kms = publish_with_error(topic(), || {
        PublishError::KmsDisabledException(
            sns::KmsDisabledException::builder()
                .meta(meta("KMSDisabled", "key disabled"))
                .build(),
        )
    })
    .await;
    assert_class(&kms, FailureClass::Misconfigured, "KMSDisabled");
    let kms_throttled = publish_with_error(topic(), || {
        PublishError::KmsThrottlingException(
            sns::KmsThrottlingException::builder()
                .meta(meta("KMSThrottling", "slow down"))
                .build(),
        )
    })
    .await;
    assert_class(&kms_throttled, FailureClass::Transient, "KMSThrottling");
    assert_class(
        &publish_with_http(500, "InternalError").await,
        FailureClass::Ambiguous,
        "InternalError",
    );
    assert_class(
        &publish_with_http(400, "Throttling").await,
        FailureClass::Transient,
        "Throttling",
    );
}

#[tokio::test]
async fn a_timeout_is_ambiguous_and_a_refused_connection_transient() {
    // Accepts connections (the OS backlog does) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    // Bound then dropped: nothing listens there.
    let refused_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for (endpoint, class, code) in [
        (
            format!("http://{}", silent.local_addr().unwrap()),
            FailureClass::Ambiguous,
            "Timeout",
        ),
        (
            format!("http://127.0.0.1:{refused_port}"),
            FailureClass::Transient,
            "DispatchFailure",
        ),
    ] {
        let config = aws_sdk_sesv2::Config::builder()
            .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
            .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sesv2::config::Credentials::new("t", "t", None, None, "test"))
            .endpoint_url(&endpoint)
            .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_sesv2::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_millis(300))
                    .build(),
            )
            .build();
        let sender = SesEmailSender::new(aws_sdk_sesv2::Client::from_conf(config), "tickets@example.com", None);
        let failure = sender.send(&sample_email()).await.unwrap_err();
        assert_class(&failure, class, code);
    }
}
