//! Each fault the proxy injects, read by the real SDK clients the workers use: throttling is a
//! throttling error code the SDK retries, a server error is a 500 it retries, a reset is a
//! dispatch failure it retries, a delay is still a success. The proxy counts the attempts, so a
//! retry is seen, not assumed.

mod support;

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use emulation::call::Service;
use emulation::faults::{FaultHook, FaultPolicy, Outcome};
use emulation::proxy::Proxy;
use moto_harness::MotoServer;
use support::{ATTEMPTS, Answer, answer, sdk};

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

async fn faulty(policy: FaultPolicy) -> (Proxy, Arc<FaultHook>) {
    let hook = Arc::new(FaultHook::new(1, policy));
    let proxy = Proxy::start(&MotoServer::shared().endpoint(), vec![hook.clone()])
        .await
        .expect("the proxy listens");
    (proxy, hook)
}

async fn proxy(kind: Outcome) -> (Proxy, Arc<FaultHook>) {
    let mut policy = FaultPolicy::always(kind);
    policy.delay = (Duration::from_millis(1), Duration::from_millis(5));
    faulty(policy).await
}

#[tokio::test]
async fn throttling_answers_are_throttling_errors_the_sdk_retries() {
    let (proxy, faults) = proxy(Outcome::Throttled).await;
    let sdk = sdk(&proxy.endpoint()).await;
    for service in SERVICES {
        let answer = call(service, &sdk).await;
        let code = answer.code.clone().unwrap_or_default();
        assert!(
            THROTTLING_ERRORS.contains(&code.as_str()),
            "{service:?}: {answer:?} is not read as throttling"
        );
        assert_eq!(
            faults.counts().get(&(service, Outcome::Throttled)).copied(),
            Some(u64::from(ATTEMPTS)),
            "{service:?}: the SDK retries throttling"
        );
    }
}

#[tokio::test]
async fn server_errors_are_500s_with_the_service_code_the_sdk_retries() {
    let (proxy, faults) = proxy(Outcome::ServerError).await;
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
            faults.counts().get(&(service, Outcome::ServerError)).copied(),
            Some(u64::from(ATTEMPTS)),
            "{service:?}: the SDK retries a 500"
        );
    }
}

#[tokio::test]
async fn resets_are_dispatch_failures_the_sdk_retries() {
    let (proxy, faults) = proxy(Outcome::Reset).await;
    let sdk = sdk(&proxy.endpoint()).await;
    for service in SERVICES {
        let answer = call(service, &sdk).await;
        assert!(answer.dispatch_failure, "{service:?}: {answer:?}");
        assert_eq!(
            faults.counts().get(&(service, Outcome::Reset)).copied(),
            Some(u64::from(ATTEMPTS)),
            "{service:?}: the SDK retries a reset connection"
        );
    }
}

#[tokio::test]
async fn delayed_answers_still_succeed_once() {
    let (proxy, faults) = proxy(Outcome::Delayed).await;
    let sdk = sdk(&proxy.endpoint()).await;
    for service in SERVICES {
        let answer = call(service, &sdk).await;
        assert!(answer.ok, "{service:?}: {answer:?}");
        assert_eq!(
            faults.counts().get(&(service, Outcome::Delayed)).copied(),
            Some(1),
            "{service:?}"
        );
    }
}

#[tokio::test]
async fn at_rate_zero_nothing_is_touched_and_the_rate_applies_from_the_next_request() {
    let (proxy, faults) = faulty(FaultPolicy::always(Outcome::ServerError)).await;
    faults.set_rate(0.0);
    let sdk = sdk(&proxy.endpoint()).await;
    assert!(call(Service::Sqs, &sdk).await.ok);
    assert_eq!(
        faults.counts().get(&(Service::Sqs, Outcome::Forwarded)).copied(),
        Some(1)
    );
    faults.set_rate(1.0);
    assert!(!call(Service::Sqs, &sdk).await.ok);
}

/// Applied, answer lost: the SDK sees a dispatch failure and retries, and every attempt was
/// applied by the emulator (a SendMessage retried three times enqueued three copies); the sends
/// recorder counts a Publish whose answer was lost as accepted, and as lost.
#[tokio::test]
async fn a_lost_answer_is_a_dispatch_failure_after_the_emulator_applied_the_call() {
    use emulation::sends::SendsHook;
    let moto = MotoServer::shared();
    let faults = Arc::new(FaultHook::new(1, FaultPolicy::always(Outcome::AnswerLost)));
    let sends = Arc::new(SendsHook::new());
    let proxy = Proxy::start(&moto.endpoint(), vec![faults.clone(), sends.clone()])
        .await
        .expect("the proxy listens");
    let direct = moto.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&direct);
    let queue = sqs
        .create_queue()
        .queue_name("answer-lost-test")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let through = sdk(&proxy.endpoint()).await;
    let sent = answer(
        aws_sdk_sqs::Client::new(&through)
            .send_message()
            .queue_url(&queue)
            .message_body("once?")
            .send()
            .await,
    );
    assert!(sent.dispatch_failure, "{sent:?}");
    assert_eq!(
        faults.counts().get(&(Service::Sqs, Outcome::AnswerLost)).copied(),
        Some(u64::from(ATTEMPTS))
    );
    let depth = emulation::queues::depth(&sqs, &queue).await.unwrap();
    assert_eq!(depth.visible, u64::from(ATTEMPTS), "every attempt was applied");

    let sns = aws_sdk_sns::Client::new(&direct);
    let topic = sns.create_topic().name("answer-lost-test").send().await.unwrap();
    let published = answer(
        aws_sdk_sns::Client::new(&through)
            .publish()
            .topic_arn(topic.topic_arn().unwrap())
            .message("lost")
            .send()
            .await,
    );
    assert!(published.dispatch_failure, "{published:?}");
    let recorded = sends.sends();
    assert_eq!(recorded.pushes.len(), ATTEMPTS as usize);
    assert_eq!(recorded.lost_pushes.len(), ATTEMPTS as usize);
}
