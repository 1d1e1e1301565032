//! The account's SES sending rate, read once at cold start (SESv2 `GetAccount` →
//! `SendQuota.MaxSendRate`: 1 per second in the sandbox, the rate AWS granted in production), so
//! the email budget never exceeds it even when `EMAIL_SEND_RATE_PER_SECOND` is set higher. A
//! failure to read it never stops the function: the configured rate is used and the log says why.

use std::time::Duration;

use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::config::timeout::TimeoutConfig;

/// One attempt, briefly: the cold start must not wait on it.
const GET_ACCOUNT_TIMEOUT: Duration = Duration::from_secs(2);

/// What `GetAccount` says about sending.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccountQuota {
    pub max_send_rate: f64,
    pub production_access: bool,
    pub sending_enabled: bool,
}

/// The account's quota, or why it could not be read.
pub async fn read(ses: &aws_sdk_sesv2::Client) -> Result<AccountQuota, String> {
    let output = ses
        .get_account()
        .customize()
        .config_override(
            aws_sdk_sesv2::config::Builder::default()
                .retry_config(RetryConfig::disabled())
                .timeout_config(TimeoutConfig::builder().operation_timeout(GET_ACCOUNT_TIMEOUT).build()),
        )
        .send()
        .await
        .map_err(|error| shared::error_chain(&error))?;
    let rate = output
        .send_quota()
        .map(|quota| quota.max_send_rate())
        .filter(|rate| rate.is_finite() && *rate > 0.0)
        .ok_or("the answer has no positive SendQuota.MaxSendRate")?;
    Ok(AccountQuota {
        max_send_rate: rate,
        production_access: output.production_access_enabled(),
        sending_enabled: output.sending_enabled(),
    })
}

/// The email budget's rate: the lower of `configured` and the account's, or `configured` when the
/// account's cannot be read. Logs which, and why.
pub async fn email_send_rate(configured: f64, ses: &aws_sdk_sesv2::Client) -> f64 {
    match read(ses).await {
        Ok(account) => {
            let rate = configured.min(account.max_send_rate);
            if !account.sending_enabled {
                tracing::error!("SES sending is disabled for this account (GetAccount): every email will fail");
            }
            if rate < configured {
                tracing::warn!(
                    configured,
                    account_max_send_rate = account.max_send_rate,
                    rate,
                    production_access = account.production_access,
                    "the account's SES sending rate is below EMAIL_SEND_RATE_PER_SECOND: the email budget uses the account's"
                );
            } else {
                tracing::info!(
                    configured,
                    account_max_send_rate = account.max_send_rate,
                    rate,
                    production_access = account.production_access,
                    "email send budget"
                );
            }
            rate
        }
        Err(reason) => {
            tracing::warn!(
                configured,
                reason,
                "could not read the account's SES sending rate (GetAccount): the email budget uses EMAIL_SEND_RATE_PER_SECOND"
            );
            configured
        }
    }
}
