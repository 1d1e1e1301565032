//! Retry delay: a record that failed and will be retried comes back in seconds, not after the
//! queue's visibility timeout.
//!
//! Lambda's SQS event source leaves a failed record invisible until the queue's visibility
//! timeout runs out (this project's: 210 s, six function timeouts). For a request someone waits
//! for, that is the failure that matters: a lost race costs minutes. With a [`RetryDelay`], the
//! batch processor calls `ChangeMessageVisibility` on each record it reports failed, with the
//! receipt handle Lambda passed in the record, on the queue named by the record's
//! `eventSourceARN`, so SQS hands the record back after:
//! - the time its error names ([`RecordError::retry_not_before`]: a lock that expires then, a
//!   send budget whose next token frees up then), at most SQS's 12 hours; else
//! - a backoff by `ApproximateReceiveCount`: `base × 2^(count-1)`, at most `max`, a random point
//!   in its upper half ([`crate::backoff::by_attempt`]): 1–2 s, 2–4 s, 4–8 s… with the defaults.
//!
//! A failed `ChangeMessageVisibility` is logged and changes nothing else: the record is still
//! reported failed and comes back after the visibility timeout, as without a retry delay.
//!
//! Each receive still counts toward the queue's `maxReceiveCount`: a record that keeps failing
//! reaches the dead-letter queue sooner in wall-clock time than with the visibility timeout
//! alone (AWS advises `maxReceiveCount` ≥ 5 for queues that trigger Lambda).
//! Powertools for AWS Lambda has no equivalent (Powertools for Java, issue #437, open since 2021).

use std::time::{Duration, SystemTime};

use aws_sdk_sqs::Client;

use crate::{Record, RecordError, backoff};

/// SQS's longest visibility timeout (`ChangeMessageVisibility`, API reference): 12 hours.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);

/// Whether failed records get a retry delay, and the backoff by receive count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryDelayConfig {
    /// Whether failed records get one at all.
    pub enabled: bool,
    /// The longest backoff after the first receive; doubles with each receive. Default 2 s.
    pub base: Duration,
    /// The longest backoff. Default 300 s. (An error's own not-before time is capped only by
    /// [`MAX_VISIBILITY`].)
    pub max: Duration,
}

impl RetryDelayConfig {
    /// No `ChangeMessageVisibility` calls: failed records come back after the visibility timeout.
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::on()
        }
    }

    /// On, with the default backoff.
    pub fn on() -> Self {
        Self {
            enabled: true,
            base: Duration::from_secs(2),
            max: Duration::from_secs(300),
        }
    }

    /// The visibility timeout to give a record that failed with `error` (`None`: not started, or
    /// skipped after its FIFO group's failure), at `now`, with `fraction` in [0, 1) choosing the
    /// jitter. Whole seconds, as SQS takes it, rounded up.
    ///
    /// **Clock offsets: tolerated up to ±1 s per process** (the tolerance of
    /// `crate::idempotency`, "Clock offsets"). The backoff by receive count reads no clock. An
    /// error's not-before time does: it was written in another clock (a lock's expiry is Lambda's
    /// deadline; a send budget's next slot is another process's), and `now` is this process's.
    /// Within the tolerance the delay is off by at most the two clocks' difference, 2 s: the
    /// record comes back up to 2 s late (latency only) or up to 2 s early, when it finds the
    /// lock or the slot still taken and fails again retryably with a fresh not-before time,
    /// spending one more of the queue's `maxReceiveCount` receives. Rounding up to whole seconds
    /// already makes most of those early returns late ones.
    pub fn visibility_timeout(
        &self,
        receive_count: u32,
        error: Option<&RecordError>,
        now: SystemTime,
        fraction: f64,
    ) -> Duration {
        let delay = match error.and_then(RecordError::not_before) {
            Some(at) => at.duration_since(now).unwrap_or_default(),
            None => backoff::by_attempt(self.base, self.max, receive_count, fraction),
        };
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        Duration::from_secs(seconds).min(MAX_VISIBILITY)
    }
}

impl Default for RetryDelayConfig {
    fn default() -> Self {
        Self::off()
    }
}

/// Sets failed records' visibility (see the module documentation). Cheap to clone.
#[derive(Debug, Clone)]
pub struct RetryDelay {
    client: Client,
    config: RetryDelayConfig,
}

impl RetryDelay {
    /// Changes visibility through `client`; with `config.enabled` false, [`RetryDelay::apply`]
    /// does nothing.
    pub fn new(client: Client, config: RetryDelayConfig) -> Self {
        Self { client, config }
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &RetryDelayConfig {
        &self.config
    }

    /// Make SQS hand `record` back after its delay; `error` is why it failed (`None`: it did not
    /// run). Returns the visibility timeout set, or `None` when none was (disabled, no receipt
    /// handle or source queue, or the call failed: logged).
    pub async fn apply(&self, record: &Record, error: Option<&RecordError>) -> Option<Duration> {
        if !self.config.enabled {
            return None;
        }
        let receive_count = record.receive_count();
        let timeout =
            self.config
                .visibility_timeout(receive_count, error, SystemTime::now(), backoff::random_fraction());
        let (Some(receipt_handle), Some(queue_url)) = (
            record.message().receipt_handle.as_deref().filter(|h| !h.is_empty()),
            record.source_queue_arn().and_then(queue_url_from_arn),
        ) else {
            tracing::warn!(
                source = record.source_queue_arn(),
                "no retry delay: the record has no receipt handle or no SQS source queue ARN"
            );
            return None;
        };
        let result = self
            .client
            .change_message_visibility()
            .queue_url(&queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(timeout.as_secs() as i32)
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::info!(
                    visible_in_s = timeout.as_secs(),
                    receive_count,
                    "retry delayed: SQS hands the record back after this many seconds"
                );
                Some(timeout)
            }
            Err(error) => {
                tracing::warn!(queue_url, error = %crate::error_chain(&error),
                    "ChangeMessageVisibility failed: the record comes back after the queue's visibility timeout");
                None
            }
        }
    }
}

/// The URL of the queue an SQS ARN names (`arn:<partition>:sqs:<region>:<account>:<name>`):
/// `https://sqs.<region>.<amazonaws.com, or .com.cn in China>/<account>/<name>`. SQS accepts it
/// from any endpoint, including a local emulator's (`AWS_ENDPOINT_URL`), which reads the queue
/// name from its last segment.
pub fn queue_url_from_arn(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let ["arn", partition, "sqs", region, account, name] = parts[..] else {
        return None;
    };
    if [partition, region, account, name].iter().any(|part| part.is_empty()) {
        return None;
    }
    let domain = if partition == "aws-cn" {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    Some(format!("https://sqs.{region}.{domain}/{account}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;

    #[test]
    fn the_backoff_doubles_with_the_receive_count_in_whole_seconds() {
        let config = RetryDelayConfig::on();
        let timeout = |count, fraction| config.visibility_timeout(count, None, NOW, fraction).as_secs();
        assert_eq!([timeout(1, 0.0), timeout(1, 0.99)], [1, 2]);
        assert_eq!([timeout(2, 0.0), timeout(2, 0.99)], [2, 4]);
        assert_eq!([timeout(3, 0.0), timeout(3, 0.99)], [4, 8]);
        assert_eq!([timeout(20, 0.0), timeout(20, 0.999_999)], [150, 300], "capped at max");
    }

    #[test]
    fn an_error_that_names_its_time_wins_over_the_backoff() {
        let config = RetryDelayConfig::on();
        let error = RecordError::retryable("idempotency-in-progress", "held")
            .retry_not_before(NOW + Duration::from_millis(12_300));
        assert_eq!(
            config.visibility_timeout(1, Some(&error), NOW, 0.5),
            Duration::from_secs(13),
            "rounded up: never before the named time"
        );
        let past = error.clone().retry_not_before(NOW);
        assert_eq!(
            config.visibility_timeout(5, Some(&past), NOW + Duration::from_secs(1), 0.5),
            Duration::ZERO
        );
        let far = error.retry_not_before(NOW + Duration::from_secs(100_000));
        assert_eq!(config.visibility_timeout(1, Some(&far), NOW, 0.5), MAX_VISIBILITY);
        // A permanent error's time is ignored: it has none.
        let permanent = RecordError::permanent("invalid", "no").retry_not_before(NOW + Duration::from_secs(60));
        assert_eq!(permanent.not_before(), None);
        assert_eq!(
            config.visibility_timeout(1, Some(&permanent), NOW, 0.99),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn queue_urls_come_from_sqs_arns_only() {
        assert_eq!(
            queue_url_from_arn("arn:aws:sqs:eu-west-1:123456789012:tickets.fifo").as_deref(),
            Some("https://sqs.eu-west-1.amazonaws.com/123456789012/tickets.fifo")
        );
        assert_eq!(
            queue_url_from_arn("arn:aws-cn:sqs:cn-north-1:123456789012:q").as_deref(),
            Some("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q")
        );
        for bad in [
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sqs:us-east-1:123456789012:",
            "arn:aws:sqs:us-east-1:123456789012",
            "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        ] {
            assert_eq!(queue_url_from_arn(bad), None, "{bad}");
        }
    }
}
