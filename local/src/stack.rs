//! The whole app running locally: moto, the template's resources, every function under
//! `cargo lambda watch`, and one poller per SQS event source mapping. Dropping it stops everything.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use moto_harness::MotoServer;
use serde_json::Value;

use crate::esm::{MappingStats, Poller};
use crate::invoke::LambdaInvoker;
use crate::metrics::FunctionTotals;
use crate::provision::{self, Stack};
use crate::watch::{self, Watched};
use cfn_model::Template;
use emulation::invoke::Invoker;
use ticket_processor::schema;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Provision(#[from] provision::ProvisionError),
    #[error(transparent)]
    Template(#[from] cfn_model::TemplateError),
    #[error(transparent)]
    Watch(#[from] watch::WatchError),
    #[error("{0}")]
    Other(String),
}

/// Where things are and what to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub workspace: PathBuf,
    pub template: PathBuf,
    pub parameters: HashMap<String, String>,
    pub stack_name: String,
    /// Logs and state (`.local/`).
    pub state_dir: PathBuf,
    pub python: PathBuf,
    pub cargo_lambda: PathBuf,
}

impl Options {
    /// The project's template with the parameters a local run needs, in `workspace`.
    pub fn for_workspace(workspace: &Path) -> Self {
        let venv = |tool: &str, env: &str| {
            std::env::var_os(env)
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace.join(".venv/bin").join(tool))
        };
        Self {
            workspace: workspace.to_owned(),
            template: workspace.join("template.yaml"),
            parameters: HashMap::from([
                ("SenderEmail".to_owned(), "tickets@example.com".to_owned()),
                ("CreateSenderIdentity".to_owned(), "true".to_owned()),
                ("Architecture".to_owned(), "x86_64".to_owned()),
                ("LogLevel".to_owned(), "INFO".to_owned()),
            ]),
            stack_name: "local".to_owned(),
            state_dir: workspace.join(".local"),
            python: venv("python", "MOTO_PYTHON"),
            cargo_lambda: venv("cargo-lambda", "CARGO_LAMBDA"),
        }
    }
}

pub struct LocalStack {
    pub moto: MotoServer,
    pub sdk: SdkConfig,
    pub stack: Stack,
    /// Where each function's log goes (`<binary>.log`).
    pub log_dir: PathBuf,
    watched: Vec<Watched>,
    invokers: HashMap<String, Arc<LambdaInvoker>>,
    pub mappings: Vec<(String, Arc<MappingStats>)>,
    /// Where each function logs (`<binary>.log`), EMF lines included.
    pub logs_dir: PathBuf,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<Task>,
}

/// Every function of `stack` under `cargo lambda watch`, pointed at moto, with an invoker each
/// (by binary name).
async fn start_functions(
    options: &Options,
    stack: &Stack,
    moto: &MotoServer,
    sdk: &SdkConfig,
    progress: &dyn Fn(&str),
) -> Result<(Vec<Watched>, HashMap<String, Arc<LambdaInvoker>>), StackError> {
    let extra: Vec<(String, String)> = emulation::launch::emulator_environment(&moto.endpoint())
        .into_iter()
        .collect();
    let mut watched = Vec::new();
    let mut invokers = HashMap::new();
    for function in &stack.functions {
        let concurrency = stack
            .event_source_mappings
            .iter()
            .filter(|m| m.function == function.name)
            .map(|m| m.maximum_concurrency)
            .max()
            .unwrap_or(1);
        let mut environment = extra.clone();
        environment.extend(function.runtime_environment.clone());
        let log = options.state_dir.join("logs").join(format!("{}.log", function.binary));
        progress(&format!(
            "starting {} under cargo lambda watch (log: {})",
            function.binary,
            log.display()
        ));
        let process = watch::start(
            &options.workspace,
            &options.cargo_lambda,
            function,
            &environment,
            concurrency,
            &log,
        )
        .await?;
        invokers.insert(
            function.binary.clone(),
            Arc::new(LambdaInvoker::new(sdk, &process.endpoint())),
        );
        watched.push(process);
    }
    Ok((watched, invokers))
}

/// A poller's task.
type Task = tokio::task::JoinHandle<()>;
/// A mapping's logical id and its poller's statistics.
type MappingStatsOf = (String, Arc<MappingStats>);

/// One poller task per enabled SQS event source mapping, each with its statistics (by logical
/// id); they stop when `stopped` turns true.
fn start_pollers(
    stack: &Stack,
    sdk: &SdkConfig,
    invokers: &HashMap<String, Arc<LambdaInvoker>>,
    stopped: &tokio::sync::watch::Receiver<bool>,
    progress: &dyn Fn(&str),
) -> Result<(Vec<MappingStatsOf>, Vec<Task>), StackError> {
    let mut tasks = Vec::new();
    let mut mappings = Vec::new();
    for mapping in stack.event_source_mappings.iter().filter(|m| m.enabled) {
        let function = stack.mapped_function(mapping).ok_or_else(|| {
            StackError::Other(format!(
                "{} invokes unknown function {}",
                mapping.logical_id, mapping.function
            ))
        })?;
        // cargo lambda watch serves a function under its binary name.
        let mut mapping = mapping.clone();
        mapping.function = function.binary.clone();
        let stats = Arc::new(MappingStats::default());
        mappings.push((mapping.logical_id.clone(), stats.clone()));
        progress(&format!(
            "polling {} for {} ({})",
            mapping.queue_url,
            function.binary,
            describe(&mapping)
        ));
        let poller = Arc::new(Poller {
            invoker: invokers[&function.binary].clone(),
            sqs: aws_sdk_sqs::Client::new(sdk),
            stats,
            region: moto_harness::REGION.to_owned(),
            wait: Duration::from_secs(1),
            mapping,
        });
        tasks.push(tokio::spawn(poller.run(stopped.clone())));
    }
    Ok((mappings, tasks))
}

impl LocalStack {
    /// Start everything; `progress` hears about each step.
    pub async fn start(options: &Options, progress: &dyn Fn(&str)) -> Result<Self, StackError> {
        std::fs::create_dir_all(options.state_dir.join("logs")).map_err(|e| StackError::Other(e.to_string()))?;
        progress("starting the AWS emulator (moto)");
        let moto = MotoServer::start();
        let sdk = moto.sdk_config().await;

        progress("reading template.yaml (SAM transform)");
        let document = provision::transform(&options.python, &options.template)?;
        let template = Template::from_json(&document)?;
        progress("creating its queues, tables, topics and email identity in the emulator");
        let stack = provision::provision(&template, &options.parameters, &options.stack_name, &sdk).await?;

        let binaries: Vec<&str> = stack.functions.iter().map(|f| f.binary.as_str()).collect();
        progress(&format!("building {}", binaries.join(", ")));
        watch::build(&options.workspace, &binaries).await?;

        let (watched, invokers) = start_functions(options, &stack, &moto, &sdk, progress).await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (mappings, tasks) = start_pollers(&stack, &sdk, &invokers, &stopped, progress)?;
        Ok(Self {
            moto,
            sdk,
            stack,
            log_dir: options.state_dir.join("logs"),
            watched,
            invokers,
            mappings,
            logs_dir: options.state_dir.join("logs"),
            stop,
            tasks,
        })
    }

    /// Invoke a function (by binary name) directly, as `cargo lambda invoke` would.
    pub async fn invoke(&self, binary: &str, payload: &Value) -> Result<Value, String> {
        let invoker = self
            .invokers
            .get(binary)
            .ok_or_else(|| format!("no function {binary}"))?;
        let invocation = invoker
            .invoke(binary, payload.to_string().into_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&invocation.payload).into_owned();
        if let Some(error) = invocation.function_error {
            return Err(format!("{binary} failed ({error}): {text}"));
        }
        serde_json::from_str(&text).or(Ok(Value::String(text)))
    }

    /// The Invoke API endpoint of each function, by binary.
    pub fn endpoints(&self) -> BTreeMap<String, String> {
        self.watched.iter().map(|w| (w.binary.clone(), w.endpoint())).collect()
    }

    /// The metrics each function has written so far (binary → totals of its EMF lines).
    pub fn metrics(&self) -> Result<BTreeMap<String, FunctionTotals>, String> {
        Ok(crate::metrics::read_logs(&self.logs_dir)?
            .iter()
            .map(|(binary, lines)| (binary.clone(), FunctionTotals::of(lines)))
            .collect())
    }

    /// Queue URL of a queue resource.
    pub fn queue_url(&self, logical_id: &str) -> Result<String, String> {
        self.stack
            .reference(logical_id)
            .ok_or_else(|| format!("the template has no queue {logical_id}"))
    }

    /// (visible, in flight) messages.
    pub async fn depth(&self, queue_url: &str) -> Result<(u64, u64), String> {
        let depth = emulation::queues::depth(&aws_sdk_sqs::Client::new(&self.sdk), queue_url).await?;
        Ok((depth.visible, depth.in_flight))
    }

    /// Wait until every polled queue is empty and no invocation is running; `progress` hears the
    /// queue depths whenever they change.
    pub async fn wait_idle(&self, timeout: Duration, progress: &dyn Fn(&str)) -> Result<(), String> {
        let started = Instant::now();
        let mut quiet_since: Option<Instant> = None;
        let mut last_report = String::new();
        loop {
            let mut busy = Vec::new();
            for mapping in &self.stack.event_source_mappings {
                let (visible, in_flight) = self.depth(&mapping.queue_url).await?;
                let name = self
                    .stack
                    .logical_id_of(&mapping.queue_url)
                    .unwrap_or(&mapping.queue_url)
                    .to_owned();
                if visible + in_flight > 0 {
                    busy.push(format!("{name}: {visible} waiting, {in_flight} in flight"));
                }
            }
            let invoking: u64 = self
                .mappings
                .iter()
                .map(|(_, s)| s.in_flight.load(Ordering::Relaxed))
                .sum();
            if busy.is_empty() && invoking == 0 {
                // Quiet for a moment: a batch that just finished may still be enqueueing its follow-ups.
                let since = *quiet_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_millis(1500) {
                    return Ok(());
                }
            } else {
                quiet_since = None;
                let report = format!("  … {} ({invoking} invocations running)", busy.join("; "));
                if report != last_report {
                    progress(&report);
                    last_report = report;
                }
            }
            if started.elapsed() > timeout {
                return Err(format!(
                    "queues not drained after {} s: {}",
                    timeout.as_secs(),
                    busy.join("; ")
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The tickets table's name.
    pub fn tickets_table(&self) -> Result<String, String> {
        self.stack
            .reference("TicketsTable")
            .ok_or_else(|| "the template has no TicketsTable".to_owned())
    }

    /// Create an event with `capacity` seats on `shards` counters, unless it exists; whether it
    /// was created.
    pub async fn seed_event(&self, event_id: &str, capacity: u32, shards: u32) -> Result<bool, String> {
        let client = aws_sdk_dynamodb::Client::new(&self.sdk);
        let seeded = schema::seed_event(&client, &self.tickets_table()?, event_id, capacity.into(), shards)
            .await
            .map_err(|e| e.to_string())?;
        Ok(seeded == schema::Seeded::Created)
    }

    /// Send a message body to a queue resource; returns its messageId.
    pub async fn send(&self, queue_logical_id: &str, body: &str) -> Result<String, String> {
        send_message(&self.sdk, &self.queue_url(queue_logical_id)?, body).await
    }

    /// Stop the pollers (letting running invocations finish), then the functions and the emulator.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
        for watched in &mut self.watched {
            watched.stop();
        }
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A mapping's settings, for the progress line.
fn describe(mapping: &crate::provision::EventSourceMapping) -> String {
    let scaling = match mapping.provisioned_pollers {
        Some((minimum, maximum)) => format!(
            "provisioned mode, {minimum}-{maximum} pollers: {} locally",
            mapping.maximum_concurrency
        ),
        None => format!("concurrency {}", mapping.maximum_concurrency),
    };
    format!(
        "batch {}, window {} s, {scaling}, ReportBatchItemFailures {}",
        mapping.batch_size, mapping.batching_window_seconds, mapping.report_batch_item_failures
    )
}

/// Send a message body to the queue at `queue_url`; returns its messageId.
pub async fn send_message(sdk: &SdkConfig, queue_url: &str, body: &str) -> Result<String, String> {
    let sent = aws_sdk_sqs::Client::new(sdk)
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .map_err(|e| shared::error_chain(&e))?;
    Ok(sent.message_id.unwrap_or_default())
}
