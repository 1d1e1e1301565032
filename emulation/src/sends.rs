//! A hook that records every SNS Publish and SESv2 SendEmail the emulator accepted (HTTP 200,
//! whether its answer reached the sender or was lost to an injected reset):
//! what was sent, read on the wire at the emulator's door, and when the sender got the answer.
//! (moto's `/moto-api/data.json` holds the same facts, but it serialises every model instance
//! moto ever created, and after a long run that takes gigabytes and minutes.)

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::call::Service;
use crate::form::form_fields;
use crate::hook::{Ending, Exchange, Hook};

/// One SNS publish: the topic, the text, the String message attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSend {
    pub topic_arn: String,
    pub text: String,
    pub attributes: BTreeMap<String, String>,
}

/// One SES email as moto keeps it (`body` is the HTML part when there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSend {
    pub source: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// Sends the emulator accepted, in the order their answers went back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sends {
    pub pushes: Vec<PushSend>,
    pub emails: Vec<EmailSend>,
    /// Those of `pushes` and `emails` the emulator accepted but whose answer a hook replaced
    /// with a reset ([`Ending::AnswerLost`]): the sender could not know they went out.
    pub lost_pushes: Vec<PushSend>,
    pub lost_emails: Vec<EmailSend>,
}

/// Each accepted send with when its sender got the answer.
#[derive(Debug, Default)]
struct Timed {
    pushes: Vec<(Instant, PushSend)>,
    emails: Vec<(Instant, EmailSend)>,
    lost_pushes: Vec<PushSend>,
    lost_emails: Vec<EmailSend>,
}

#[derive(Debug, Default)]
pub struct SendsHook {
    timed: Mutex<Timed>,
}

impl SendsHook {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every Publish and SendEmail the emulator accepted so far.
    pub fn sends(&self) -> Sends {
        let timed = self.timed.lock().unwrap();
        Sends {
            pushes: timed.pushes.iter().map(|(_, push)| push.clone()).collect(),
            emails: timed.emails.iter().map(|(_, email)| email.clone()).collect(),
            lost_pushes: timed.lost_pushes.clone(),
            lost_emails: timed.lost_emails.clone(),
        }
    }

    /// How many emails were accepted so far.
    pub fn emails_accepted(&self) -> usize {
        self.timed.lock().unwrap().emails.len()
    }

    /// The accepted emails, each with when its sender got the answer.
    pub fn timed_emails(&self) -> Vec<(Instant, EmailSend)> {
        self.timed.lock().unwrap().emails.clone()
    }

    /// The accepted pushes, each with when its sender got the answer.
    pub fn timed_pushes(&self) -> Vec<(Instant, PushSend)> {
        self.timed.lock().unwrap().pushes.clone()
    }
}

impl Hook for SendsHook {
    fn name(&self) -> &'static str {
        "sends"
    }

    fn observe(&self, exchange: &Exchange) {
        if !exchange.applied() {
            return;
        }
        let body = &exchange.request;
        let at = exchange.answered;
        let lost = exchange.ending == Ending::AnswerLost;
        let mut timed = self.timed.lock().unwrap();
        match (exchange.call.service, exchange.call.operation.as_str()) {
            (Service::Sns, "Publish") => {
                let push = push(body);
                if lost {
                    timed.lost_pushes.push(push.clone());
                }
                timed.pushes.push((at, push));
            }
            (Service::Ses, "SendEmail") => {
                if let Some(email) = email(body) {
                    if lost {
                        timed.lost_emails.push(email.clone());
                    }
                    timed.emails.push((at, email));
                }
            }
            _ => {}
        }
    }
}

/// The send of an SNS Publish request body.
pub fn push(body: &[u8]) -> PushSend {
    let form = form_fields(body);
    let mut attributes = BTreeMap::new();
    for n in 1.. {
        let Some(name) = form.get(&format!("MessageAttributes.entry.{n}.Name")) else {
            break;
        };
        let value = form
            .get(&format!("MessageAttributes.entry.{n}.Value.StringValue"))
            .cloned()
            .unwrap_or_default();
        attributes.insert(name.clone(), value);
    }
    let topic = form.get("TopicArn").or_else(|| form.get("TargetArn")).cloned();
    PushSend {
        topic_arn: topic.unwrap_or_default(),
        text: form.get("Message").cloned().unwrap_or_default(),
        attributes,
    }
}

/// The email of a SESv2 SendEmail request body (`None`: not one).
pub fn email(body: &[u8]) -> Option<EmailSend> {
    let request = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    let simple = &request["Content"]["Simple"];
    let html = simple["Body"]["Html"]["Data"].as_str();
    let text = simple["Body"]["Text"]["Data"].as_str();
    Some(EmailSend {
        source: request["FromEmailAddress"].as_str().unwrap_or_default().to_owned(),
        to: request["Destination"]["ToAddresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        subject: simple["Subject"]["Data"].as_str().unwrap_or_default().to_owned(),
        // As moto keeps it: the HTML part when there is one.
        body: html.or(text).unwrap_or_default().to_owned(),
    })
}
