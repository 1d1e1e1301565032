//! The two channels, what a channel's step stores, and how the channels' results decide the
//! record's.
//!
//! A record succeeds when at least one channel delivered (now or on an earlier attempt) and no
//! channel can still deliver by retrying. In detail, in this order:
//! 1. a channel failed transiently, ambiguously or was deferred → the record is retryable: SQS
//!    redelivers it (not before the latest time a failure names), and the steps that already
//!    completed (delivered or rejected) are skipped on that retry;
//! 2. a channel is misconfigured → the record fails permanently (DLQ with the reason); nothing was
//!    stored for that channel, so a redrive after the fix sends it;
//! 3. no channel delivered (every one rejected, or no email address and the push rejected) →
//!    permanent `no-usable-channel`;
//! 4. otherwise the record succeeded; a rejected channel is logged and stays recorded.

use std::fmt;

use serde::{Deserialize, Serialize};
use shared::{Handled, RecordError, error_kinds};

use crate::classify::{FailureClass, SendFailure};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Push,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Push => "push",
            Channel::Email => "email",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stored result of a channel's step (`<function>#<notificationId>#<channel>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Delivery {
    /// The service accepted the message; `message_id` is its id for it.
    Delivered { message_id: String },
    /// The service refused this message or recipient for good. `reason` has addresses masked.
    Rejected { code: String, reason: String },
}

/// A channel's send failed in a way that is not a rejection of this message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("message {message_id}, notification {notification_id}: {channel} to {recipient}: {failure}")]
pub struct ChannelError {
    pub channel: Channel,
    pub message_id: String,
    pub notification_id: String,
    /// The topic or endpoint, or the masked address.
    pub recipient: String,
    pub failure: SendFailure,
}

impl From<ChannelError> for RecordError {
    fn from(error: ChannelError) -> Self {
        let (suffix, permanent) = match error.failure.class {
            FailureClass::Transient => ("unavailable", false),
            FailureClass::Misconfigured => ("misconfigured", true),
            FailureClass::Rejected => ("rejected", true),
            FailureClass::Ambiguous => ("ambiguous", false),
            FailureClass::Deferred => ("deferred", false),
        };
        let kind = format!("{}-{suffix}", error.channel);
        let not_before = error.failure.retry_not_before;
        if permanent {
            RecordError::permanent(kind, error)
        } else {
            let retryable = RecordError::retryable(kind, error);
            match not_before {
                Some(at) => retryable.retry_not_before(at),
                None => retryable,
            }
        }
    }
}

/// What became of one channel in this attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelResult {
    /// Delivered now, or (`earlier`) on a previous attempt whose stored result was found.
    Delivered {
        earlier: bool,
    },
    /// Rejected now, or (`earlier`) on a previous attempt.
    Rejected {
        earlier: bool,
        code: String,
        reason: String,
    },
    /// Not attempted: the message gives no address for it.
    NoAddress,
    Failed(RecordError),
}

impl ChannelResult {
    fn describe(&self) -> String {
        match self {
            ChannelResult::Delivered { .. } => "delivered".to_owned(),
            ChannelResult::Rejected { code, reason, .. } => format!("rejected ({code}: {reason})"),
            ChannelResult::NoAddress => "no address".to_owned(),
            ChannelResult::Failed(error) => format!("failed ({error})"),
        }
    }
}

/// The record's result from its channels' (see the module comment for the rules).
pub fn conclude(
    message_id: &str,
    notification_id: &str,
    results: &[(Channel, ChannelResult)],
) -> Result<Handled, RecordError> {
    let failures: Vec<&RecordError> = results
        .iter()
        .filter_map(|(_, result)| match result {
            ChannelResult::Failed(error) => Some(error),
            _ => None,
        })
        .collect();
    let first_failure = failures
        .iter()
        .find(|error| !error.is_permanent())
        .or_else(|| failures.first());
    if let Some(failure) = first_failure {
        let message = failures
            .iter()
            .map(|error| error.message())
            .collect::<Vec<_>>()
            .join("; ");
        let error = RecordError::new(failure.class(), failure.kind(), message);
        // A retry needs every failed channel to be able to succeed: not before the latest time
        // one of them names.
        return Err(match failures.iter().filter_map(|error| error.not_before()).max() {
            Some(at) => error.retry_not_before(at),
            None => error,
        });
    }
    if !results
        .iter()
        .any(|(_, result)| matches!(result, ChannelResult::Delivered { .. }))
    {
        let channels = results
            .iter()
            .map(|(channel, result)| format!("{channel}: {}", result.describe()))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(RecordError::permanent(
            error_kinds::NO_USABLE_CHANNEL,
            format!("message {message_id}, notification {notification_id}: no channel could deliver: {channels}"),
        ));
    }
    let all_earlier = results.iter().all(|(_, result)| {
        matches!(
            result,
            ChannelResult::Delivered { earlier: true }
                | ChannelResult::Rejected { earlier: true, .. }
                | ChannelResult::NoAddress
        )
    });
    Ok(if all_earlier {
        Handled::Duplicate
    } else {
        Handled::Processed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(class: FailureClass, channel: Channel) -> ChannelResult {
        ChannelResult::Failed(
            ChannelError {
                channel,
                message_id: "m-1".into(),
                notification_id: "n-1".into(),
                recipient: "k***@example.com".into(),
                failure: SendFailure::new(class, "SES SendEmail", "Code", "went wrong"),
            }
            .into(),
        )
    }

    fn rejected() -> ChannelResult {
        ChannelResult::Rejected {
            earlier: false,
            code: "MessageRejected".into(),
            reason: "no".into(),
        }
    }

    fn conclude(push: ChannelResult, email: ChannelResult) -> Result<Handled, RecordError> {
        super::conclude("m-1", "n-1", &[(Channel::Push, push), (Channel::Email, email)])
    }

    const NOW: ChannelResult = ChannelResult::Delivered { earlier: false };
    const EARLIER: ChannelResult = ChannelResult::Delivered { earlier: true };

    #[test]
    fn one_delivered_channel_is_enough_and_all_earlier_is_a_duplicate() {
        assert_eq!(conclude(NOW, NOW), Ok(Handled::Processed));
        assert_eq!(conclude(NOW, rejected()), Ok(Handled::Processed));
        assert_eq!(conclude(rejected(), EARLIER), Ok(Handled::Processed));
        assert_eq!(conclude(EARLIER, ChannelResult::NoAddress), Ok(Handled::Duplicate));
        assert_eq!(conclude(EARLIER, EARLIER), Ok(Handled::Duplicate));
        assert_eq!(conclude(EARLIER, NOW), Ok(Handled::Processed));
    }

    #[test]
    fn a_transient_failure_makes_the_record_retryable_even_beside_a_permanent_one() {
        let error = conclude(NOW, failed(FailureClass::Transient, Channel::Email)).unwrap_err();
        assert!(!error.is_permanent());
        assert_eq!(error.kind(), "email-unavailable");
        let error = conclude(
            failed(FailureClass::Misconfigured, Channel::Push),
            failed(FailureClass::Transient, Channel::Email),
        )
        .unwrap_err();
        assert!(!error.is_permanent());
        assert_eq!(error.kind(), "email-unavailable");
        assert!(
            error.message().contains("push to") && error.message().contains("email to"),
            "{error}"
        );
    }

    #[test]
    fn ambiguous_and_deferred_sends_are_retryable_and_the_latest_named_time_wins() {
        let error = conclude(NOW, failed(FailureClass::Ambiguous, Channel::Email)).unwrap_err();
        assert_eq!((error.kind(), error.is_permanent()), ("email-ambiguous", false));
        assert_eq!(error.not_before(), None, "an ambiguous send gets the backoff");

        let at = |seconds| std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
        let deferred = |channel, seconds| match failed(FailureClass::Deferred, channel) {
            ChannelResult::Failed(error) => ChannelResult::Failed(error.retry_not_before(at(seconds))),
            other => other,
        };
        let error = conclude(deferred(Channel::Push, 10), deferred(Channel::Email, 20)).unwrap_err();
        assert_eq!((error.kind(), error.is_permanent()), ("push-deferred", false));
        assert_eq!(error.not_before(), Some(at(20)), "both channels must be able to go");
        let error = conclude(
            failed(FailureClass::Transient, Channel::Push),
            deferred(Channel::Email, 20),
        )
        .unwrap_err();
        assert_eq!(error.not_before(), Some(at(20)));

        let channel_error = |class| ChannelError {
            channel: Channel::Email,
            message_id: "m-1".into(),
            notification_id: "n-1".into(),
            recipient: "k***@example.com".into(),
            failure: SendFailure::new(class, "SES SendEmail", "SendBudgetFull", "no slot")
                .retry_not_before(Some(at(7))),
        };
        assert_eq!(
            RecordError::from(channel_error(FailureClass::Deferred)).not_before(),
            Some(at(7)),
            "a deferred send names when the budget has room"
        );
    }

    #[test]
    fn a_misconfigured_channel_is_permanent_even_when_the_other_delivered() {
        let error = conclude(NOW, failed(FailureClass::Misconfigured, Channel::Email)).unwrap_err();
        assert!(error.is_permanent());
        assert_eq!(error.kind(), "email-misconfigured");
    }

    #[test]
    fn nothing_delivered_is_a_permanent_no_usable_channel() {
        for (push, email) in [(rejected(), rejected()), (rejected(), ChannelResult::NoAddress)] {
            let error = conclude(push, email).unwrap_err();
            assert!(error.is_permanent());
            assert_eq!(error.kind(), "no-usable-channel");
            assert!(
                error.message().contains("m-1") && error.message().contains("push: rejected"),
                "{error}"
            );
        }
    }
}
