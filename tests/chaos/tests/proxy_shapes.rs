//! Each fault the proxy injects, read by the real SDK clients the workers use: throttling is a
//! throttling error code the SDK retries, a server error is a 500 it retries, a reset is a
//! dispatch failure it retries, a delay is still a success. The proxy counts the attempts, so a
//! retry is seen, not assumed.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chaos::fault_shapes::Service;
use chaos::proxy::{FaultPolicy, FaultProxy, Outcome};
use moto_harness::MotoServer;

const ATTEMPTS: u32 = 3;

async fn sdk(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "chaos-test"))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .load()
        .await
}

/// What one call of each service came to: the error's code and HTTP status, or success.
#[derive(Debug)]
struct Answer {
    ok: bool,
    code: Option<String>,
    status: Option<u16>,
    dispatch_failure: bool,
}

fn answer<O, E: ProvideErrorMetadata>(
    result: Result<O, aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> Answer {
    match result {
        Ok(_) => Answer {
            ok: true,
            code: None,
            status: None,
            dispatch_failure: false,
        },
        Err(error) => Answer {
            ok: false,
            code: error.code().map(str::to_owned),
            status: error.raw_response().map(|r| r.status().as_u16()),
            dispatch_failure: matches!(
                error,
                aws_smithy_runtime_api::client::result::SdkError::DispatchFailure(_)
            ),
        },
    }
}

async fn call(service: Service, sdk: &SdkConfig) -> Answer {
    match service {
        Service::DynamoDb => answer(aws_sdk_dynamodb::Client::new(sdk).list_tables().send().await),
        Service::Sqs => answer(aws_sdk_sqs::Client::new(sdk).list_queues().send().await),
        Service::Sns => answer(aws_sdk_sns::Client::new(sdk).list_topics().send().await),
        Service::Ses => answer(aws_sdk_sesv2::Client::new(sdk).list_email_identities().send().await),
        Service::Other => unreachable!("not a service of the workers"),
    }
}

const SERVICES: [Service; 4] = [Service::DynamoDb, Service::Sqs, Service::Sns, Service::Ses];

async fn proxy(kind: Outcome) -> FaultProxy {
    let mut policy = FaultPolicy::always(kind);
    policy.delay = (Duration::from_millis(1), Duration::from_millis(5));
    FaultProxy::start(&MotoServer::shared().endpoint(), 1, policy)
        .await
        .expect("the proxy listens")
}

#[tokio::test]
async fn throttling_answers_are_throttling_errors_the_sdk_retries() {
    let proxy = proxy(Outcome::Throttled).await;
    let sdk = sdk(&proxy.endpoint()).await;
    for service in SERVICES {
        let answer = call(service, &sdk).await;
        let code = answer.code.clone().unwrap_or_default();
        assert!(
            THROTTLING_ERRORS.contains(&code.as_str()),
            "{service:?}: {answer:?} is not read as throttling"
        );
        assert_eq!(
            proxy.counts().get(&(service, Outcome::Throttled)).copied(),
            Some(u64::from(ATTEMPTS)),
            "{service:?}: the SDK retries throttling"
        );
    }
}

#[tokio::test]
async fn server_errors_are_500s_with_the_service_code_the_sdk_retries() {
    let proxy = proxy(Outcome::ServerError).await;
    let sdk = sdk(&proxy.endpoint()).await;
    for (service, expected) in [
        (Service::DynamoDb, "InternalServerError"),
        (Service::Sqs, "InternalFailure"),
        (Service::Sns, "InternalFailure"),
        (Service::Ses, "InternalFailure"),
    ] {
        let answer = call(service, &sdk).await;
        assert_eq!(answer.status, Some(500), "{service:?}: {answer:?}");
        assert_eq!(answer.code.as_deref(), Some(expected), "{service:?}: {answer:?}");
        assert_eq!(
            proxy.counts().get(&(service, Outcome::ServerError)).copied(),
            Some(u64::from(ATTEMPTS)),
            "{service:?}: the SDK retries a 500"
        );
    }
}

#[tokio::test]
async fn resets_are_dispatch_failures_the_sdk_retries() {
    let proxy = proxy(Outcome::Reset).await;
    let sdk = sdk(&proxy.endpoint()).await;
    for service in SERVICES {
        let answer = call(service, &sdk).await;
        assert!(answer.dispatch_failure, "{service:?}: {answer:?}");
        assert_eq!(
            proxy.counts().get(&(service, Outcome::Reset)).copied(),
            Some(u64::from(ATTEMPTS)),
            "{service:?}: the SDK retries a reset connection"
        );
    }
}

#[tokio::test]
async fn delayed_answers_still_succeed_once() {
    let proxy = proxy(Outcome::Delayed).await;
    let sdk = sdk(&proxy.endpoint()).await;
    for service in SERVICES {
        let answer = call(service, &sdk).await;
        assert!(answer.ok, "{service:?}: {answer:?}");
        assert_eq!(
            proxy.counts().get(&(service, Outcome::Delayed)).copied(),
            Some(1),
            "{service:?}"
        );
    }
}

#[tokio::test]
async fn at_rate_zero_nothing_is_touched_and_the_rate_applies_from_the_next_request() {
    let proxy = FaultProxy::start(
        &MotoServer::shared().endpoint(),
        1,
        FaultPolicy::always(Outcome::ServerError),
    )
    .await
    .unwrap();
    proxy.set_rate(0.0);
    let sdk = sdk(&proxy.endpoint()).await;
    assert!(call(Service::Sqs, &sdk).await.ok);
    assert_eq!(
        proxy.counts().get(&(Service::Sqs, Outcome::Forwarded)).copied(),
        Some(1)
    );
    proxy.set_rate(1.0);
    assert!(!call(Service::Sqs, &sdk).await.ok);
}
