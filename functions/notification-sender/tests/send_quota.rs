//! The account's SES sending rate at cold start: it caps the email budget, and a failure to read
//! it leaves the configured rate, logged, without stopping anything.

use std::time::{Duration, Instant};

use aws_sdk_sesv2::operation::get_account::{GetAccountError, GetAccountOutput};
use aws_sdk_sesv2::types::SendQuota;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use moto_harness::MotoServer;
use notification_sender::send_quota::{self, AccountQuota};
use shared::testing::CapturedLogs;

fn account(rate: f64) -> aws_sdk_sesv2::Client {
    let rule = mock!(aws_sdk_sesv2::Client::get_account).then_output(move || {
        GetAccountOutput::builder()
            .production_access_enabled(rate > 1.0)
            .sending_enabled(true)
            .send_quota(SendQuota::builder().max_send_rate(rate).max24_hour_send(200.0).build())
            .build()
    });
    mock_client!(aws_sdk_sesv2, RuleMode::MatchAny, [&rule])
}

#[tokio::test]
async fn the_lower_of_the_configured_and_the_accounts_rate_is_used() {
    let sandbox = account(1.0);
    assert_eq!(
        send_quota::read(&sandbox).await,
        Ok(AccountQuota {
            max_send_rate: 1.0,
            production_access: false,
            sending_enabled: true,
        })
    );
    assert_eq!(send_quota::email_send_rate(14.0, &sandbox).await, 1.0);
    assert_eq!(send_quota::email_send_rate(14.0, &account(50.0)).await, 14.0);
}

#[tokio::test(flavor = "current_thread")]
async fn an_unreadable_quota_leaves_the_configured_rate_and_says_why() {
    let rule = mock!(aws_sdk_sesv2::Client::get_account).then_error(|| {
        GetAccountError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not authorized to perform ses:GetAccount")
                .build(),
        )
    });
    let denied = mock_client!(aws_sdk_sesv2, RuleMode::MatchAny, [&rule]);
    let logs = CapturedLogs::new();
    let subscriber = logs.install();
    let rate = send_quota::email_send_rate(14.0, &denied).await;
    drop(subscriber);
    assert_eq!(rate, 14.0);
    let text = logs.text();
    assert!(
        text.contains("could not read the account's SES sending rate") && text.contains("AccessDeniedException"),
        "{text}"
    );
}

#[tokio::test]
async fn an_emulator_without_get_account_does_not_hold_up_the_cold_start() {
    // moto 5.2.5 does not implement SESv2 GetAccount.
    let sdk = MotoServer::shared().sdk_config().await;
    let started = Instant::now();
    let rate = send_quota::email_send_rate(14.0, &notification_sender::clients::ses(&sdk)).await;
    assert_eq!(rate, 14.0);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}
