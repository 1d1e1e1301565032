//! What notification-sender adds to its invocation's EMF line (`shared::metrics`), besides the
//! batch's counts. Dimension: the function's name. Counted in [`crate::handler`], where each
//! channel's outcome is known.
//!
//! | metric | unit | one per |
//! |---|---|---|
//! | `PushSent`, `EmailSent` | Count | message SNS / SES accepted in this invocation (a send found done earlier is not counted again) |
//! | `SendsRejected` | Count | send refused for good (recorded; never retried) |
//! | `SendsThrottled` | Count | send that failed with a throttling answer (after the SDK's own retries); the record is retried |
//! | `SendsMisconfigured` | Count | send that failed because of our configuration or account; the record goes to the DLQ |
//! | `SendsAmbiguous` | Count | send whose answer was lost (5xx, timeout, connection lost after the request went out): not recorded, sent again by the redelivery |
//! | `SendsDeferred` | Count | send the budget had no slot for in time (or too little time was left): nothing sent, the record comes back when a slot is free |
//! | `TimeToSend` | Milliseconds | notification with a channel delivered now: now − the record's `SentTimestamp` (not for a copy redriven by dlq-redrive) |

use std::time::SystemTime;

use shared::Record;
use shared::metrics::{Count, Metric, Recorder, Timing};

use crate::ambiguous::is_throttling;
use crate::channels::{Channel, ChannelResult};
use crate::classify::{FailureClass, SendFailure};

pub const PUSH_SENT: Count = Count::new("PushSent");
pub const EMAIL_SENT: Count = Count::new("EmailSent");
pub const SENDS_REJECTED: Count = Count::new("SendsRejected");
pub const SENDS_THROTTLED: Count = Count::new("SendsThrottled");
pub const SENDS_MISCONFIGURED: Count = Count::new("SendsMisconfigured");
pub const SENDS_AMBIGUOUS: Count = Count::new("SendsAmbiguous");
pub const SENDS_DEFERRED: Count = Count::new("SendsDeferred");
pub const TIME_TO_SEND: Timing = Timing::new("TimeToSend");

/// Every metric this function adds (the batch's come from `shared::metrics::batch`).
pub const ALL: &[Metric] = &[
    PUSH_SENT.metric(),
    EMAIL_SENT.metric(),
    SENDS_REJECTED.metric(),
    SENDS_THROTTLED.metric(),
    SENDS_MISCONFIGURED.metric(),
    SENDS_AMBIGUOUS.metric(),
    SENDS_DEFERRED.metric(),
    TIME_TO_SEND.metric(),
];

/// The count of messages a channel's service accepted.
pub fn sent(channel: Channel) -> Count {
    match channel {
        Channel::Push => PUSH_SENT,
        Channel::Email => EMAIL_SENT,
    }
}

/// A send that failed without being a rejection: misconfigured, throttled, ambiguous or deferred.
pub fn count_failure(metrics: &Recorder, failure: &SendFailure) {
    match failure.class {
        FailureClass::Misconfigured => metrics.add(SENDS_MISCONFIGURED, 1),
        FailureClass::Transient if is_throttling(&failure.code) => metrics.add(SENDS_THROTTLED, 1),
        FailureClass::Ambiguous => metrics.add(SENDS_AMBIGUOUS, 1),
        FailureClass::Deferred => metrics.add(SENDS_DEFERRED, 1),
        FailureClass::Transient | FailureClass::Rejected => {}
    }
}

/// The notification's time to send, when a channel delivered in this attempt, at `now`.
pub fn observe_time_to_send(record: &Record, results: &[(Channel, ChannelResult)], now: SystemTime) {
    let delivered_now = results
        .iter()
        .any(|(_, result)| matches!(result, ChannelResult::Delivered { earlier: false }));
    if !delivered_now || record.is_redriven_copy() {
        return;
    }
    if let Some(age) = record.age_at(now) {
        record.metrics().observe(TIME_TO_SEND, age);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_told_from_other_transient_failures() {
        let metrics = Recorder::detached();
        for code in [
            "TooManyRequestsException",
            "Throttling",
            "KMSThrottlingException",
            "HTTP 429",
        ] {
            count_failure(
                &metrics,
                &SendFailure::new(FailureClass::Transient, "SES SendEmail", code, "slow down"),
            );
        }
        for code in ["InternalFailure", "Timeout", "HTTP 503"] {
            count_failure(
                &metrics,
                &SendFailure::new(FailureClass::Transient, "SNS Publish", code, "oops"),
            );
        }
        count_failure(
            &metrics,
            &SendFailure::new(FailureClass::Misconfigured, "SNS Publish", "AuthorizationError", "no"),
        );
        count_failure(
            &metrics,
            &SendFailure::new(FailureClass::Ambiguous, "SES SendEmail", "Timeout", "no answer"),
        );
        count_failure(
            &metrics,
            &SendFailure::new(FailureClass::Deferred, "SES SendEmail", "SendBudgetFull", "later"),
        );
        let counts = metrics.collected().counts;
        assert_eq!(counts.get(SENDS_THROTTLED.name()), Some(&4));
        assert_eq!(counts.get(SENDS_MISCONFIGURED.name()), Some(&1));
        assert_eq!(counts.get(SENDS_AMBIGUOUS.name()), Some(&1));
        assert_eq!(counts.get(SENDS_DEFERRED.name()), Some(&1));
        assert_eq!(counts.len(), 4, "{counts:?}");
    }
}
