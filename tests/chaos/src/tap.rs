//! A record of the sends independent of the proxy's, for runs too large for moto's
//! `/moto-api/data.json` (gigabytes after a few thousand requests):
//!
//! - **pushes**: an SQS queue subscribed to the push topic in moto itself. moto delivers every
//!   Publish it accepted to it, in SNS's JSON envelope (the message and its attributes); a task
//!   drains it as the run goes, so it never grows deep (moto's ReceiveMessage slows with depth).
//! - **emails**: moto's own count of the emails it accepted (SES `GetSendQuota`,
//!   `SentLast24Hours`: one per recipient; every email of the run has one). SES has no
//!   subscription to tap, so the content is compared only where data.json is read.
//!
//! Nothing here goes through the proxy: the tap sees what moto did, not what the proxy saw.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use emulation::sends::PushSend;
use serde_json::Value;

pub struct PushTap {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    pushes: Mutex<Vec<PushSend>>,
    errors: Mutex<Vec<String>>,
}

impl PushTap {
    /// A queue subscribed to `topic_arn`, and a task that drains it until `stop` turns true.
    pub async fn start(
        sqs: &aws_sdk_sqs::Client,
        sns: &aws_sdk_sns::Client,
        topic_arn: &str,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Arc<Self>, String> {
        let queue_url = sqs
            .create_queue()
            .queue_name("chaos-push-tap")
            .send()
            .await
            .map_err(|e| {
                format!(
                    "creating the push tap's queue: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?
            .queue_url
            .unwrap_or_default();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "the push tap's queue ARN: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?
            .attributes
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
            .unwrap_or_default();
        sns.subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(arn)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "subscribing the push tap: {}",
                    aws_sdk_sns::error::DisplayErrorContext(e)
                )
            })?;
        let tap = Arc::new(Self {
            sqs: sqs.clone(),
            queue_url,
            pushes: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
        });
        tokio::spawn(tap.clone().drain_until(stop));
        Ok(tap)
    }

    async fn drain_until(self: Arc<Self>, stop: tokio::sync::watch::Receiver<bool>) {
        while !*stop.borrow() {
            if self.drain_once().await == 0 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }

    /// Receive and delete what the queue holds now (up to 10); how many were received.
    async fn drain_once(&self) -> usize {
        let received = match self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .send()
            .await
        {
            Ok(received) => received,
            Err(error) => {
                // moto's SQS answers 500 now and then under load: the next round retries.
                self.errors
                    .lock()
                    .unwrap()
                    .push(aws_sdk_sqs::error::DisplayErrorContext(error).to_string());
                return 0;
            }
        };
        let messages = received.messages.unwrap_or_default();
        for message in &messages {
            if let Some(push) = message.body.as_deref().and_then(envelope) {
                self.pushes.lock().unwrap().push(push);
            }
            let _ = self
                .sqs
                .delete_message()
                .queue_url(&self.queue_url)
                .set_receipt_handle(message.receipt_handle.clone())
                .send()
                .await;
        }
        messages.len()
    }

    /// Every push moto delivered, once the queue is empty (drained to the end).
    pub async fn pushes(&self) -> Vec<PushSend> {
        let mut empty = 0;
        while empty < 3 {
            empty = if self.drain_once().await == 0 { empty + 1 } else { 0 };
        }
        self.pushes.lock().unwrap().clone()
    }
}

/// A push as SNS's JSON envelope carries it to a subscribed queue.
pub fn envelope(body: &str) -> Option<PushSend> {
    let envelope: Value = serde_json::from_str(body).ok()?;
    let attributes: BTreeMap<String, String> = envelope["MessageAttributes"]
        .as_object()
        .map(|attributes| {
            attributes
                .iter()
                .map(|(name, value)| (name.clone(), value["Value"].as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    Some(PushSend {
        topic_arn: envelope["TopicArn"].as_str()?.to_owned(),
        text: envelope["Message"].as_str()?.to_owned(),
        attributes,
    })
}

/// moto's count of the emails it accepted: SES (v1) `GetSendQuota`'s `SentLast24Hours`, asked
/// directly (moto checks no signature; the credential scope names the service).
pub async fn moto_emails_sent(endpoint: &str) -> Result<u64, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = "Action=GetSendQuota&Version=2010-12-01";
    let request = format!(
        "POST / HTTP/1.0\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| format!("connect to moto: {e}"))?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("ask moto's SES for its quota: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .map_err(|e| format!("read moto's SES quota: {e}"))?;
    let sent = response
        .split("<SentLast24Hours>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .ok_or_else(|| format!("moto's GetSendQuota answer has no SentLast24Hours: {response:.300}"))?;
    sent.trim()
        .parse::<f64>()
        .map(|n| n as u64)
        .map_err(|e| format!("SentLast24Hours {sent:?}: {e}"))
}
