//! SQS queue ARNs and URLs: parsed so configuration and requests can be checked before any call.

use crate::error::AddressError;

/// `arn:<partition>:sqs:<region>:<account>:<queue name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueueArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub name: String,
}

impl QueueArn {
    /// Parses an SQS queue ARN; the error says what is wrong with it.
    pub(crate) fn parse(arn: &str) -> Result<Self, AddressError> {
        let not_an_arn = || AddressError::NotAnArn { arn: arn.to_owned() };
        let parts: Vec<&str> = arn.split(':').collect();
        let [prefix, partition, service, region, account, name] = parts[..] else {
            return Err(not_an_arn());
        };
        if prefix != "arn" || partition.is_empty() || service != "sqs" || region.is_empty() {
            return Err(not_an_arn());
        }
        check_account(arn, account)?;
        check_queue_name(arn, name)?;
        Ok(Self {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            name: name.to_owned(),
        })
    }

    pub(crate) fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }
}

/// `http(s)://<host>/<account>/<queue name>`: AWS's and moto's queue URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueueUrl {
    pub account: String,
    pub name: String,
}

impl QueueUrl {
    pub(crate) fn parse(url: &str) -> Result<Self, AddressError> {
        let not_a_url = || AddressError::NotAUrl { url: url.to_owned() };
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(not_a_url)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [host, account, name] = parts[..] else {
            return Err(not_a_url());
        };
        if host.is_empty() {
            return Err(AddressError::NoHost { url: url.to_owned() });
        }
        check_account(url, account)?;
        check_queue_name(url, name)?;
        Ok(Self {
            account: account.to_owned(),
            name: name.to_owned(),
        })
    }
}

fn check_account(address: &str, account: &str) -> Result<(), AddressError> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AddressError::BadAccount {
            address: address.to_owned(),
            account: account.to_owned(),
        })
    }
}

/// SQS queue names: 1–80 characters of letters, digits, `-` and `_`, FIFO ones ending in `.fifo`.
fn check_queue_name(address: &str, name: &str) -> Result<(), AddressError> {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let valid = !name.is_empty()
        && name.len() <= 80
        && !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(AddressError::BadQueueName {
            address: address.to_owned(),
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aws_and_moto_addresses() {
        let arn = QueueArn::parse("arn:aws:sqs:us-east-1:123456789012:ticket-dlq.fifo").unwrap();
        assert_eq!(arn.name, "ticket-dlq.fifo");
        assert_eq!(arn.account, "123456789012");
        assert!(arn.is_fifo());
        let url = QueueUrl::parse("https://sqs.eu-west-1.amazonaws.com/123456789012/ticket-dlq").unwrap();
        assert_eq!(url.name, "ticket-dlq");
        let local = QueueUrl::parse("http://127.0.0.1:5000/123456789012/q_1").unwrap();
        assert_eq!(local.account, "123456789012");
    }

    #[test]
    fn rejects_malformed_addresses_saying_why() {
        for bad in [
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sqs:us-east-1:12345:q",
            "arn:aws:sqs:us-east-1:123456789012:",
            "arn:aws:sqs:us-east-1:123456789012:bad name",
            "arn:aws:sqs::123456789012:q",
            "ticket-dlq",
        ] {
            assert!(QueueArn::parse(bad).is_err(), "{bad} accepted as an ARN");
        }
        for bad in [
            "sqs.us-east-1.amazonaws.com/123456789012/q",
            "https://sqs.us-east-1.amazonaws.com/q",
            "https://sqs.us-east-1.amazonaws.com/123456789012/q/extra",
            "https://sqs.us-east-1.amazonaws.com/abc/q",
            "https:///123456789012/q",
        ] {
            assert!(QueueUrl::parse(bad).is_err(), "{bad} accepted as a URL");
        }
        let error = QueueArn::parse("arn:aws:sqs:us-east-1:1:q").unwrap_err().to_string();
        assert!(error.contains("12-digit"), "{error}");
    }
}
