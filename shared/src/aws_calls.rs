//! The AWS API calls a crate's code makes, declared by the crate (one list each, beside its
//! environment variables) so that least privilege is proved from the code:
//! `tests/template` scans each crate's sources for the SDK operations it calls and fails when one
//! is not declared (or a declared one is no longer called), derives the IAM grants each
//! function's role must have from its crates' declarations and the function's environment in
//! `template.yaml`, and fails when the role grants anything else, or lacks a grant, or a grant's
//! `Condition` differs.
//!
//! To call a new operation: call it, add an [`AwsCall`] to the crate's list (`shared`:
//! [`crate::worker::AWS_CALLS`], counted for both SQS workers; a function: `AWS_CALLS` in its
//! `lib.rs`), and grant the action on that resource in the function's role in `template.yaml`.
//! The template test names what is missing.

/// One SDK operation the code calls and what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsCall {
    /// The SDK client's method, as the code calls it: `put_item`.
    pub operation: &'static str,
    /// The IAM actions that authorise it, `service:Action`. A batch call is authorised as its
    /// entries' action (SendMessageBatch as `sqs:SendMessage`), a DynamoDB transaction as each
    /// item's (a Put as `dynamodb:PutItem`): there is no IAM action of their own.
    pub actions: &'static [&'static str],
    /// What it acts on.
    pub resource: Target,
}

/// What a call acts on, named the way the code knows it: through the function's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The resource an environment variable names (a table name, a queue URL, a topic ARN).
    Env(&'static str),
    /// The items of the table an environment variable names whose partition key starts with
    /// `<the function's name>#` (IAM: `dynamodb:LeadingKeys`).
    OwnItemsOf(&'static str),
    /// Each queue ARN in a field of the JSON array an environment variable holds
    /// (`REDRIVE_ROUTES`, `dlqArn`); a field may hold one ARN or a list of them.
    EnvJsonField(&'static str, &'static str),
    /// The SES identities that may send as the address an environment variable holds: the
    /// address and its domain (whichever is verified).
    SesIdentityOf(&'static str),
    /// The SES configuration set an environment variable names, when it names one.
    SesConfigurationSet(&'static str),
    /// The SNS mobile push endpoints a message names (a contact's `pushEndpointArn`): the
    /// template scopes them to its platform applications.
    PushEndpoints,
    /// The queue the function's SQS event source reads (a record's own queue).
    EventSourceQueue,
    /// Every resource: only for an action that has no resource types (the Service
    /// Authorization Reference), such as SESv2 `GetAccount`.
    AnyResource,
}

impl AwsCall {
    /// An entry of a worker's call list: `operation` names the SDK call, `actions` the IAM actions
    /// it needs, `resource` what they apply to.
    pub const fn new(operation: &'static str, actions: &'static [&'static str], resource: Target) -> Self {
        Self {
            operation,
            actions,
            resource,
        }
    }
}
