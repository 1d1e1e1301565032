//! Setting a sale up: moto with the template provisioned in it, the event seeded, the proxy with
//! the limits model and the recorders, the worker processes (each on its own Runtime API, each in
//! a cgroup with Lambda's CPU share), and the template's SQS event sources emulated in front of
//! them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use cfn_model::Template;
use emulation::call::Service;
use emulation::cgroup::{CpuShare, share_of_memory};
use emulation::limits::LimitsModel;
use emulation::limits::params::Limits;
use emulation::proxy::{Proxy, Upstreams};
use emulation::sends::SendsHook;
use emulation::workers::{ProcessSpec, WorkerPool, lambda_environment};
use local_stack::esm::{MappingStats, Poller};
use local_stack::provision::{EventSourceMapping, Stack, provision, transform};
use moto_harness::MotoServer;

use crate::invocations::{InvocationRecord, RecordingInvoker};
use crate::params::{Args, OnOff, Paths};
use crate::recorder::Recorder;
use crate::sale::Sale;
use crate::tickets_state;

pub const SENDER: &str = "tickets@example.com";
const STACK: &str = "flash-sale";
pub const TICKET_PROCESSOR: &str = "ticket-processor";
pub const NOTIFICATION_SENDER: &str = "notification-sender";

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{binary}: no release binary at {path}; build it with `make release-bins` (or pass --bin-dir)")]
    MissingBinary { binary: String, path: String },
    #[error("{0}")]
    Failed(String),
}

fn failed<E: std::fmt::Display>(context: &str) -> impl Fn(E) -> SetupError + '_ {
    move |error| SetupError::Failed(format!("{context}: {error}"))
}

/// The queues of the sale, by role.
#[derive(Debug, Clone)]
pub struct Queues {
    pub ticket_issue: String,
    pub notification: String,
    pub ticket_dlq: String,
    pub notification_dlq: String,
}

/// The CPU shares in force, one per function (each its own MemorySize's), or why there are none.
pub enum CpuShareState {
    On(Vec<(String, Arc<CpuShare>)>),
    Off(String),
}

impl CpuShareState {
    pub fn describe(&self) -> String {
        match self {
            CpuShareState::On(shares) => shares
                .iter()
                .map(|(binary, share)| format!("{binary}: {}", share.describe()))
                .collect::<Vec<_>>()
                .join("; "),
            CpuShareState::Off(reason) => format!("OFF: the workers ran unthrottled ({reason})"),
        }
    }

    /// The share of `binary`'s processes, if shares are on.
    pub fn of(&self, binary: &str) -> Option<Arc<CpuShare>> {
        match self {
            CpuShareState::On(shares) => shares.iter().find(|(b, _)| b == binary).map(|(_, share)| share.clone()),
            CpuShareState::Off(_) => None,
        }
    }
}

/// One SQS-triggered function: its processes, the mapping that feeds them, what it invoked.
pub struct Function {
    pub binary: String,
    pub pool: Arc<WorkerPool>,
    pub poller: Arc<Poller>,
}

/// Everything a running sale needs. Dropping it stops the processes and removes the cgroups.
pub struct Setup {
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub queues: Queues,
    pub tickets_table: String,
    pub model: Arc<LimitsModel>,
    pub recorder: Arc<Recorder>,
    pub sends: Arc<SendsHook>,
    pub functions: Vec<Function>,
    pub invocations: Arc<Mutex<Vec<InvocationRecord>>>,
    pub visibility_timeout: Duration,
    /// The source queues' redrive policy: receives before SQS moves a message to its DLQ.
    pub max_receive_count: Option<u32>,
    pub notification_max_receive_count: Option<u32>,
    pub cpu_share: CpuShareState,
    // Fields drop in order: processes before their cgroups, the proxies, then moto.
    pub proxy: Proxy,
    /// The runner's own way to the emulators (no hooks).
    pub router: Proxy,
    pub moto: MotoServer,
    /// DynamoDB's emulator (every other service is `moto`'s).
    pub moto_dynamodb: MotoServer,
}

pub async fn setup(args: &Args, paths: &Paths, sale: &Sale, limits: Limits) -> Result<Setup, SetupError> {
    for binary in [TICKET_PROCESSOR, NOTIFICATION_SENDER] {
        let path = paths.bin_dir.join(binary).join("bootstrap");
        if !path.exists() {
            return Err(SetupError::MissingBinary {
                binary: binary.to_owned(),
                path: path.display().to_string(),
            });
        }
    }
    std::fs::create_dir_all(&paths.log_dir).map_err(failed("log directory"))?;
    // DynamoDB in a moto process of its own: moto serialises its DynamoDB requests (see the
    // launcher), and in one process they also wait for every SQS, SES and SNS request on the
    // interpreter's lock. The runner's own calls (provisioning, the producer, the pollers,
    // observing) go through a proxy without hooks that routes them as the workers' are routed.
    let moto = MotoServer::start();
    let moto_dynamodb = MotoServer::start();
    let upstreams = Upstreams::one(&moto.endpoint()).with(Service::DynamoDb, &moto_dynamodb.endpoint());
    let router = Proxy::start_routed(upstreams.clone(), Vec::new())
        .await
        .map_err(failed("router"))?;
    let sdk = moto_harness::sdk_config_at(&router.endpoint()).await;
    let (sqs, dynamodb) = (aws_sdk_sqs::Client::new(&sdk), aws_sdk_dynamodb::Client::new(&sdk));
    let document = transform(&moto_harness::python(), &paths.template).map_err(failed("SAM transform"))?;
    let template = Template::from_json(&document).map_err(failed("template"))?;
    let mut parameters = HashMap::from([
        ("SenderEmail".to_owned(), SENDER.to_owned()),
        ("CreateSenderIdentity".to_owned(), "true".to_owned()),
        ("TableDeletionProtection".to_owned(), "false".to_owned()),
    ]);
    parameters.extend(send_rates(&template, args.scale));
    let stack = provision(&template, &parameters, STACK, &sdk)
        .await
        .map_err(failed("provisioning"))?;
    let reference = |logical_id: &str| {
        stack
            .reference(logical_id)
            .ok_or_else(|| SetupError::Failed(format!("the template has no {logical_id}")))
    };
    let queues = Queues {
        ticket_issue: reference("TicketIssueQueue")?,
        notification: reference("NotificationQueue")?,
        ticket_dlq: reference("TicketIssueDeadLetterQueue")?,
        notification_dlq: reference("NotificationDeadLetterQueue")?,
    };
    let tickets_table = reference("TicketsTable")?;
    tickets_state::seed_event(&dynamodb, &tickets_table, &sale.event_id, sale.seats, args.shards)
        .await
        .map_err(SetupError::Failed)?;
    let (visibility_timeout, max_receive_count) = set_visibility(args, &sqs, &queues).await?;
    let notification_max_receive_count = max_receive_count_of(&sqs, &queues.notification).await?;

    let model = Arc::new(LimitsModel::new(limits));
    let recorder = Arc::new(Recorder::new(&queues.notification, Some(model.clone())));
    let sends = Arc::new(SendsHook::new());
    let proxy = Proxy::start_routed(upstreams, vec![model.clone(), recorder.clone(), sends.clone()])
        .await
        .map_err(failed("proxy"))?;
    let cpu_share = cpu_share(args, &stack);
    let invocations = Arc::new(Mutex::new(Vec::new()));
    let mut functions = Vec::new();
    for mapping in &stack.event_source_mappings {
        functions.push(function(args, paths, &stack, mapping, &proxy, &cpu_share, &sqs, &invocations).await?);
    }
    Ok(Setup {
        sqs,
        dynamodb,
        queues,
        tickets_table,
        model,
        recorder,
        sends,
        functions,
        invocations,
        visibility_timeout,
        max_receive_count,
        notification_max_receive_count,
        cpu_share,
        proxy,
        router,
        moto,
        moto_dynamodb,
    })
}

/// The send budget's rates the template defaults to (its SES and SNS rates), ÷ scale: the
/// workers' budget runs at the machine's speed, so in slow motion it must allow what the model
/// allows per wall second, or it sends faster than the modelled SES accepts.
const SEND_RATE_PARAMETERS: [&str; 2] = ["EmailSendRatePerSecond", "PushSendRatePerSecond"];

fn send_rates(template: &Template, scale: f64) -> Vec<(String, String)> {
    SEND_RATE_PARAMETERS
        .iter()
        .filter_map(|name| {
            let default = template.parameter(name)?.get("Default")?;
            let rate: f64 = cfn_model::intrinsics::node_text(default)?.parse().ok()?;
            Some(((*name).to_owned(), (rate / scale).to_string()))
        })
        .collect()
}

/// `maxReceiveCount` of a redrive policy (a number, or a number in a string).
fn receive_count_in(policy: &str) -> Option<u32> {
    let policy = serde_json::from_str::<serde_json::Value>(policy).ok()?;
    let count = &policy["maxReceiveCount"];
    count
        .as_u64()
        .or_else(|| count.as_str()?.parse().ok())
        .map(|n| n as u32)
}

/// The redrive policy's `maxReceiveCount` of the queue at `url`.
async fn max_receive_count_of(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<Option<u32>, SetupError> {
    let read = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .map_err(|e| SetupError::Failed(format!("reading {url}'s redrive policy: {e}")))?;
    Ok(read
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
        .and_then(|policy| receive_count_in(policy)))
}

/// The source queues' visibility timeout for the run (the template's × scale, or the override),
/// and their redrive policy's `maxReceiveCount`.
async fn set_visibility(
    args: &Args,
    sqs: &aws_sdk_sqs::Client,
    queues: &Queues,
) -> Result<(Duration, Option<u32>), SetupError> {
    let read = sqs
        .get_queue_attributes()
        .queue_url(&queues.ticket_issue)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .map_err(|e| SetupError::Failed(format!("reading the queue's attributes: {e}")))?;
    let attribute = |name: QueueAttributeName| read.attributes().and_then(|a| a.get(&name)).cloned();
    let template: u32 = attribute(QueueAttributeName::VisibilityTimeout)
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let max_receive_count = attribute(QueueAttributeName::RedrivePolicy).and_then(|policy| receive_count_in(&policy));
    let seconds = args
        .visibility_timeout
        .unwrap_or_else(|| (f64::from(template) * args.scale).round() as u32);
    if seconds != template {
        for queue in [&queues.ticket_issue, &queues.notification] {
            sqs.set_queue_attributes()
                .queue_url(queue)
                .attributes(QueueAttributeName::VisibilityTimeout, seconds.to_string())
                .send()
                .await
                .map_err(|e| SetupError::Failed(format!("setting the visibility timeout: {e}")))?;
        }
    }
    Ok((Duration::from_secs(u64::from(seconds)), max_receive_count))
}

/// The share of one CPU a worker process gets in a run at `scale`: Lambda's share for
/// `memory_mb` ÷ scale. CPU work W takes W ÷ fraction of wall time, which is W ÷ (fraction ×
/// scale) of the model's time (wall ÷ scale); on Lambda it takes W ÷ share. The two are equal
/// when fraction = share ÷ scale: in slow motion the workers' CPU slows down with everything else.
pub fn worker_cpu_fraction(memory_mb: u32, scale: f64) -> f64 {
    (share_of_memory(memory_mb) / scale).min(1.0)
}

/// Lambda's CPU share for each function an event source maps (the sale's workers: its
/// MemorySize's share ÷ scale), or why not.
fn cpu_share(args: &Args, stack: &Stack) -> CpuShareState {
    if args.cpu_share == OnOff::Off {
        return CpuShareState::Off("--cpu-share off".to_owned());
    }
    let mut shares: Vec<(String, Arc<CpuShare>)> = Vec::new();
    for function in stack
        .event_source_mappings
        .iter()
        .filter_map(|m| stack.mapped_function(m))
    {
        if shares.iter().any(|(binary, _)| *binary == function.binary) {
            continue;
        }
        let fraction = worker_cpu_fraction(function.memory_mb, args.scale);
        match CpuShare::create(&format!("flash-sale-{}", function.binary), fraction) {
            Ok(share) => shares.push((function.binary.clone(), Arc::new(share))),
            Err(error) => return CpuShareState::Off(error.to_string()),
        }
    }
    CpuShareState::On(shares)
}

#[allow(clippy::too_many_arguments)]
async fn function(
    args: &Args,
    paths: &Paths,
    stack: &Stack,
    mapping: &EventSourceMapping,
    proxy: &Proxy,
    cpu_share: &CpuShareState,
    sqs: &aws_sdk_sqs::Client,
    invocations: &Arc<Mutex<Vec<InvocationRecord>>>,
) -> Result<Function, SetupError> {
    let function = stack
        .mapped_function(mapping)
        .ok_or_else(|| SetupError::Failed(format!("{}: no function", mapping.logical_id)))?;
    let mut environment: BTreeMap<String, String> = function.environment.clone();
    environment.extend(function.runtime_environment.clone());
    environment.extend(lambda_environment(&function.name, &proxy.endpoint()));
    environment.insert(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_owned(),
        function.memory_mb.to_string(),
    );
    let log = paths.log_dir.join(format!("{}.log", function.binary));
    let _ = std::fs::remove_file(&log);
    let spec = ProcessSpec {
        binary: function.binary.clone(),
        path: paths.bin_dir.join(&function.binary).join("bootstrap"),
        function_name: function.name.clone(),
        environment,
        log,
        cpu_share: cpu_share.of(&function.binary),
    };
    let timeout = Duration::from_secs(
        args.function_timeout
            .unwrap_or_else(|| (function.timeout_seconds as f64 * args.scale).round() as u64),
    );
    // One process per concurrent invocation the event source may start, each on its own
    // Runtime API, as Lambda runs them.
    let pool = WorkerPool::start(spec, mapping.maximum_concurrency.max(1), timeout)
        .await
        .map_err(failed(&function.binary))?;
    let invoker = Arc::new(RecordingInvoker::new(
        &function.binary,
        pool.clone(),
        invocations.clone(),
    ));
    let poller = Arc::new(Poller {
        mapping: mapping.clone(),
        sqs: sqs.clone(),
        invoker,
        stats: Arc::new(MappingStats::default()),
        region: "us-east-1".to_owned(),
        wait: Duration::from_secs(1),
    });
    Ok(Function {
        binary: function.binary.clone(),
        pool,
        poller,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CPU work takes as long in the model's time at every scale as on Lambda: W ÷ (fraction ×
    /// scale) = W ÷ share. The old quota (share × scale) made it scale² times faster.
    #[test]
    fn a_workers_cpu_work_takes_lambdas_time_in_the_models_time_at_every_scale() {
        let work_s = 0.19;
        let on_lambda = work_s / share_of_memory(128);
        for scale in [1.0, 2.0, 4.0, 7.0] {
            let wall = work_s / worker_cpu_fraction(128, scale);
            let model = wall / scale;
            assert!(
                (model - on_lambda).abs() < 1e-9,
                "scale {scale}: {model} s, Lambda {on_lambda} s"
            );
        }
        assert!(worker_cpu_fraction(128, 4.0) < worker_cpu_fraction(128, 1.0));
        assert_eq!(worker_cpu_fraction(10_240, 1.0), 1.0);
    }

    #[test]
    fn the_send_budgets_rates_are_the_templates_divided_by_scale() {
        let document = serde_json::json!({
            "Parameters": {
                "EmailSendRatePerSecond": {"Type": "Number", "Default": 14},
                "PushSendRatePerSecond": {"Type": "Number", "Default": "300"},
            },
            "Resources": {},
        });
        let template = Template::from_json(&document).unwrap();
        let mut rates = send_rates(&template, 4.0);
        rates.sort();
        assert_eq!(
            rates,
            [
                ("EmailSendRatePerSecond".to_owned(), "3.5".to_owned()),
                ("PushSendRatePerSecond".to_owned(), "75".to_owned()),
            ]
        );
    }
}
