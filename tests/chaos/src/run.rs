//! A whole run, in phases:
//! 1. **setup**: moto, the template provisioned in it (queues' visibility timeout shortened for
//!    the run), the events seeded, the proxy, the worker pools, the event source mappings;
//! 2. **storm**: the load is sent while faults, kills and duplicate deliveries go on, until every
//!    source queue is drained and nothing is running;
//! 3. **redrive under chaos** (`CHAOS_REDRIVE_CHAOS_ROUNDS`): dlq-redrive replays with faults
//!    and kills still on, and its own process is SIGKILLed at a random point of the replay;
//! 4. **calm and redrive**: faults and kills stop (as after an incident), dlq-redrive replays what
//!    exhausted its retries (`error-kind` absent), and the queues drain again; repeated while it
//!    moves anything (or fails);
//! 5. **check**: the emulator's state against the invariants.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use cfn_model::Template;
use local_stack::esm::{MappingStats, Poller};
use local_stack::provision::{Stack, provision, transform};
use moto_harness::MotoServer;
use serde_json::{Value, json};

use crate::duplicates::DuplicatingInvoker;
use crate::invariants::{Expectations, MotoSends, Verdict, check, personal_data, sends_agree};
use crate::ledger::{KillAt, LedgerHook};
use crate::load::{LoadPlan, Queues, Sent, send};
use crate::observe::{QueueRole, Sources, observe, queue_state};
use crate::params::Params;
use crate::report::{FunctionFigures, RedriveRound, RunFigures};
use crate::supervisor::Supervisor;
use emulation::faults::{FaultHook, FaultPolicy};
use emulation::limits::LimitsModel;
use emulation::limits::params::Limits;
use emulation::proxy::Proxy;
use emulation::rng::Rng;
use emulation::sends::SendsHook;
use emulation::workers::{ProcessSpec, WorkerPool, lambda_environment};

pub const SENDER: &str = "tickets@example.com";
const STACK: &str = "chaos";
const TICKET_PROCESSOR: &str = "ticket-processor";
const NOTIFICATION_SENDER: &str = "notification-sender";
const DLQ_REDRIVE: &str = "dlq-redrive";
/// Replays what the redrive policy moved (no `error-kind`): retries exhausted. Poison stays.
const REDRIVE_REQUEST: &str = r#"{"mode":"replay","dryRun":false,"filter":{"errorKind":"retries-exhausted"}}"#;
const REDRIVE_ROUNDS: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{binary}: no release binary at {path}; build it with `make release-bins`")]
    MissingBinary { binary: String, path: String },
    #[error("setup: {0}")]
    Setup(String),
}

fn setup<E: std::fmt::Display>(context: &str) -> impl Fn(E) -> RunError + '_ {
    move |error| RunError::Setup(format!("{context}: {error}"))
}

/// Which queues a slice of the run uses: the template's standard queues, or its FIFO ones
/// (`UseFifoQueues=true`), with the same workers under the same faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slice {
    Standard,
    Fifo,
}

impl Slice {
    pub fn name(self) -> &'static str {
        match self {
            Slice::Standard => "standard queues",
            Slice::Fifo => "FIFO queues",
        }
    }
}

/// The whole run: the slice on standard queues, then the FIFO slice (`CHAOS_FIFO_REQUESTS`
/// requests; none when 0, and its order check is then SKIPPED).
pub async fn run(params: &Params) -> Result<Vec<(RunFigures, Verdict)>, RunError> {
    let mut slices = vec![run_slice(params, Slice::Standard).await?];
    if params.fifo_requests > 0 {
        slices.push(run_slice(&params.fifo_slice(), Slice::Fifo).await?);
    } else {
        let verdict = Verdict {
            checks: vec![crate::invariants::fifo_group_order_not_made(format!(
                "no FIFO slice: {}=0",
                crate::params::env::FIFO_REQUESTS
            ))],
            outcomes: Default::default(),
        };
        let figures = RunFigures {
            slice: Slice::Fifo.name(),
            settled: true,
            ..RunFigures::default()
        };
        slices.push((figures, verdict));
    }
    Ok(slices)
}

/// One slice of the run, in the phases above.
pub async fn run_slice(params: &Params, slice: Slice) -> Result<(RunFigures, Verdict), RunError> {
    let started = Instant::now();
    prepare(params)?;
    let mut stage = Stage::start(params, slice).await?;
    let deadline = started + params.time_limit;
    progress(
        started,
        &format!(
            "{}: setup done; sending the load under faults, kills and duplicate deliveries",
            slice.name()
        ),
    );
    let (sent, mut settled) = stage.storm(started, deadline).await?;
    let storm = started.elapsed();
    let mut rounds = Vec::new();
    if settled {
        settled = stage.redrive_under_chaos(started, deadline, &mut rounds).await;
    }
    if settled {
        settled = stage.calm_redrive(started, deadline, &mut rounds).await;
    } else {
        stage.calm();
    }
    let _ = stage.stop_tx.send(true);
    if let Some(supervising) = stage.supervising.take() {
        let _ = supervising.await;
    }
    for error in stage.proxy.upstream_errors() {
        progress(started, &format!("proxy could not forward: {error}"));
    }
    let verdict = stage.judge(started, &sent, &rounds).await?;
    let figures = stage.figures(started, storm, settled, &sent, rounds).await;
    Ok((figures, verdict))
}

/// The release binaries are there, and the logs start empty.
fn prepare(params: &Params) -> Result<(), RunError> {
    for binary in [TICKET_PROCESSOR, NOTIFICATION_SENDER, DLQ_REDRIVE] {
        let path = params.bin_dir.join(binary).join("bootstrap");
        if !path.exists() {
            return Err(RunError::MissingBinary {
                binary: binary.to_owned(),
                path: path.display().to_string(),
            });
        }
    }
    std::fs::create_dir_all(&params.log_dir).map_err(setup("log directory"))?;
    for binary in [TICKET_PROCESSOR, NOTIFICATION_SENDER, DLQ_REDRIVE] {
        // Processes append (a restarted one continues its log); a run starts with empty logs.
        let _ = std::fs::remove_file(params.log_dir.join(format!("{binary}.log")));
    }
    Ok(())
}

/// What the template gave the run in moto.
struct Provisioned {
    stack: Stack,
    queues: Vec<(QueueRole, String)>,
    tickets_table: String,
    idempotency_table: String,
    push_topic: String,
}

/// The proxy between the workers and moto, and its hooks.
struct Hooks {
    faults: Arc<FaultHook>,
    sends: Arc<SendsHook>,
    model: Option<Arc<LimitsModel>>,
    ledger: Arc<LedgerHook>,
    proxy: Proxy,
}

/// Everything a slice runs on, from setup to the check.
struct Stage<'p> {
    params: &'p Params,
    slice: Slice,
    moto: MotoServer,
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    provisioned: Provisioned,
    plan: LoadPlan,
    faults: Arc<FaultHook>,
    sends: Arc<SendsHook>,
    model: Option<Arc<LimitsModel>>,
    ledger: Arc<LedgerHook>,
    proxy: Proxy,
    redrive: Arc<WorkerPool>,
    clock_offsets: Vec<String>,
    stop_tx: tokio::sync::watch::Sender<bool>,
    killing_tx: tokio::sync::watch::Sender<bool>,
    supervisor: Arc<Supervisor>,
    supervising: Option<tokio::task::JoinHandle<()>>,
    push_tap: Arc<crate::tap::PushTap>,
    mappings: Vec<Mapping>,
}

impl<'p> Stage<'p> {
    /// Phase 1: moto, the template provisioned in it, the events seeded, the proxy, the worker
    /// pools, the event source mappings.
    async fn start(params: &'p Params, slice: Slice) -> Result<Self, RunError> {
        let moto = MotoServer::start();
        let sdk = moto.sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let provisioned = provision_template(params, slice, &sdk, &sqs).await?;
        let plan = seed_load(params, slice, &dynamodb, &provisioned.tickets_table).await?;
        let Hooks {
            faults,
            sends,
            model,
            ledger,
            proxy,
        } = start_proxy(params, &moto).await?;
        let (pools, redrive, clock_offsets) = start_pools(params, &provisioned.stack, &proxy).await?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        // moto's own record of the pushes, independent of the proxy's (crate::tap).
        let push_tap = crate::tap::PushTap::start(
            &sqs,
            &aws_sdk_sns::Client::new(&sdk),
            &provisioned.push_topic,
            stop_rx.clone(),
        )
        .await
        .map_err(RunError::Setup)?;
        let (killing_tx, killing_rx) = tokio::sync::watch::channel(true);
        let supervisor = Supervisor::new(
            pools.values().cloned().collect(),
            params.kill_interval,
            params.freeze_interval,
            params.seed,
        );
        let supervising = tokio::spawn(supervisor.clone().run(killing_rx, stop_rx.clone()));
        let mappings = start_mappings(params, &provisioned.stack, &pools, &sqs, &stop_rx)?;
        Ok(Self {
            params,
            slice,
            moto,
            sqs,
            dynamodb,
            provisioned,
            plan,
            faults,
            sends,
            model,
            ledger,
            proxy,
            redrive,
            clock_offsets,
            stop_tx,
            killing_tx,
            supervisor,
            supervising: Some(supervising),
            push_tap,
            mappings,
        })
    }

    /// Phase 2: the load is sent while faults, kills and duplicate deliveries go on, until every
    /// source queue is drained and nothing is running.
    async fn storm(&self, started: Instant, deadline: Instant) -> Result<(Sent, bool), RunError> {
        let queues = &self.provisioned.queues;
        let queues_ref = Queues {
            ticket_issue: &queues[0].1,
            notification: &queues[1].1,
        };
        let sent = send(
            &self.plan,
            &self.sqs,
            &queues_ref,
            self.params.queue_depth,
            self.slice == Slice::Fifo,
        )
        .await
        .map_err(RunError::Setup)?;
        progress(
            started,
            &format!("{} messages sent; waiting for the queues to drain", sent.messages),
        );
        let settled = settle(&self.sqs, queues, &self.mappings, deadline).await;
        progress(
            started,
            if settled {
                "drained; faults and kills off"
            } else {
                "did not drain in time"
            },
        );
        Ok((sent, settled))
    }

    /// Phase 3: dlq-redrive replays with faults and kills still on, and its own process is killed
    /// at a random point of its replay. False when the queues did not settle in time.
    async fn redrive_under_chaos(&self, started: Instant, deadline: Instant, rounds: &mut Vec<RedriveRound>) -> bool {
        for round_index in 0..self.params.redrive_chaos_rounds {
            let delay = Rng::fork(self.params.seed, &format!("redrive-kill-{round_index}")).between(0, 1_500);
            let killer = {
                let redrive = self.redrive.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    match redrive.busy().first() {
                        Some(slot) => redrive.kill_and_restart(*slot).await.ok(),
                        None => None,
                    }
                })
            };
            let mut round = redrive_round(&self.redrive).await;
            round.chaotic = true;
            if let Ok(Some(_)) = killer.await {
                round.killed = true;
            }
            progress(
                started,
                &format!(
                    "dlq-redrive under faults{} moved {}: {}",
                    if round.killed { ", killed mid-replay," } else { "" },
                    round.moved,
                    round.summary
                ),
            );
            let killed = round.killed;
            rounds.push(round);
            let queues = &self.provisioned.queues;
            let mut settled = settle(&self.sqs, queues, &self.mappings, deadline).await;
            if killed && settled {
                // What the killed replay had received stays hidden in the DLQs for their
                // visibility timeout: the next replay (an operator's retry) comes after it.
                settled = dead_letters_visible(&self.sqs, queues, deadline).await;
            }
            if !settled {
                return false;
            }
        }
        true
    }

    /// Faults and kills stop, as after an incident.
    fn calm(&self) {
        let _ = self.killing_tx.send(false);
        self.faults.set_rate(0.0);
        self.faults.set_answer_lost_rate(0.0);
    }

    /// Phase 4: calm, then dlq-redrive replays what exhausted its retries and the queues drain
    /// again, while it moves anything (or fails). False when the queues did not settle in time.
    async fn calm_redrive(&self, started: Instant, deadline: Instant, rounds: &mut Vec<RedriveRound>) -> bool {
        self.calm();
        for _ in 0..REDRIVE_ROUNDS {
            let round = redrive_round(&self.redrive).await;
            progress(
                started,
                &format!("dlq-redrive moved {}: {}", round.moved, round.summary),
            );
            let done = round.moved == 0 && !round.failed;
            rounds.push(round);
            if done {
                break;
            }
            if !settle(&self.sqs, &self.provisioned.queues, &self.mappings, deadline).await {
                return false;
            }
        }
        true
    }

    /// Phase 5: the emulator's state against the invariants.
    async fn judge(&self, started: Instant, sent: &Sent, rounds: &[RedriveRound]) -> Result<Verdict, RunError> {
        progress(started, "observing the emulator's state");
        let sends = self.sends.sends();
        let observed = observe(&Sources {
            dynamodb: &self.dynamodb,
            sqs: &self.sqs,
            tickets_table: &self.provisioned.tickets_table,
            idempotency_table: &self.provisioned.idempotency_table,
            queues: self.provisioned.queues.clone(),
            sends: sends.clone(),
        })
        .await
        .map_err(RunError::Setup)?;
        let moto_sends = self.moto_sends(started).await?;
        let mut ledger = self.ledger.ledger();
        ledger.timeline.kills = self
            .supervisor
            .all_kills()
            .iter()
            .map(|kill| KillAt {
                origin: crate::ledger::origin(&kill.binary, kill.slot),
                at: kill.at,
            })
            .collect();
        let plan = &self.plan;
        let mut verdict = check(
            &Expectations {
                plan,
                sender: SENDER,
                push_topic: &self.provisioned.push_topic,
                timeline: &ledger.timeline,
            },
            &observed,
        );
        verdict.checks.push(crate::invariants::sold_out_in_time(plan, &ledger));
        verdict
            .checks
            .extend(crate::invariants::idempotency_checks(plan, &observed));
        verdict.checks.push(sends_agree(&sends, &moto_sends));
        if self.slice == Slice::Fifo {
            verdict.checks.push(crate::invariants::fifo_group_order(
                plan,
                &sent.fifo,
                &ledger,
                &observed,
                &self.deliveries(TICKET_PROCESSOR),
            ));
        }
        verdict
            .checks
            .push(scan_personal_data(plan, &self.params.log_dir, &observed, rounds)?);
        Ok(verdict)
    }

    /// The batches the event source mapping of `binary` delivered, as messageIds.
    fn deliveries(&self, binary: &str) -> Vec<(Instant, Vec<String>)> {
        self.mappings
            .iter()
            .filter(|(name, ..)| name == binary)
            .flat_map(|(_, _, invoker, _)| invoker.deliveries.lock().unwrap().clone())
            .collect()
    }

    /// moto's own records of the sends: the tap's pushes, its email count, and data.json in
    /// small runs.
    async fn moto_sends(&self, started: Instant) -> Result<MotoSends, RunError> {
        let mut moto_sends = MotoSends {
            delivered_pushes: Some(self.push_tap.pushes().await),
            ..MotoSends::default()
        };
        match crate::tap::moto_emails_sent(&self.moto.endpoint()).await {
            Ok(count) => moto_sends.emails_accepted = Some(count),
            Err(error) => progress(started, &format!("moto's email count not read: {error}")),
        }
        if self.params.requests <= self.params.data_json_max {
            let data = crate::observe::moto_data(&self.moto.endpoint())
                .await
                .map_err(RunError::Setup)?;
            moto_sends.data_json = Some(crate::observe::read_sends(&data));
        }
        Ok(moto_sends)
    }

    async fn figures(
        &self,
        started: Instant,
        storm: Duration,
        settled: bool,
        sent: &Sent,
        redrive: Vec<RedriveRound>,
    ) -> RunFigures {
        let kills = self.supervisor.all_kills();
        let mut functions = BTreeMap::new();
        for (binary, _, invoker, pool) in &self.mappings {
            functions.insert(
                binary.clone(),
                FunctionFigures {
                    invocations: invoker.invocations.load(Ordering::Relaxed),
                    duplicated: invoker.duplicated.load(Ordering::Relaxed),
                    failed: pool.function_errors.load(Ordering::Relaxed),
                    kills: kills.iter().filter(|k| &k.binary == binary && !k.timeout).count(),
                    timeouts: kills.iter().filter(|k| &k.binary == binary && k.timeout).count(),
                },
            );
        }
        RunFigures {
            slice: self.slice.name(),
            parameters: self.params.describe(),
            duration: started.elapsed(),
            storm,
            settled,
            messages_sent: sent.messages,
            producer_duplicates: self.plan.duplicates(),
            poison: self.plan.poison.len(),
            events: self.plan.events.len(),
            functions,
            freezes: *self.supervisor.freezes.lock().unwrap(),
            clock_offsets: self.clock_offsets.clone(),
            unexpected_exits: self.supervisor.unexpected_exits.lock().unwrap().clone(),
            supervisor_errors: self.supervisor.errors.lock().unwrap().clone(),
            proxy: self.faults.counts(),
            model: self.model.as_ref().map(|m| m.counts()).unwrap_or_default(),
            redrive,
            log_dir: self.params.log_dir.display().to_string(),
        }
    }
}

/// The template, SAM-transformed and provisioned in moto (`UseFifoQueues` for the FIFO slice),
/// with the source queues' visibility timeout shortened for the run.
async fn provision_template(
    params: &Params,
    slice: Slice,
    sdk: &aws_config::SdkConfig,
    sqs: &aws_sdk_sqs::Client,
) -> Result<Provisioned, RunError> {
    let document = transform(&moto_harness::python(), &params.template).map_err(setup("SAM transform"))?;
    let template = Template::from_json(&document).map_err(setup("template"))?;
    let parameters = HashMap::from([
        ("SenderEmail".to_owned(), SENDER.to_owned()),
        ("CreateSenderIdentity".to_owned(), "true".to_owned()),
        ("MaxReceiveCount".to_owned(), params.max_receive_count.to_string()),
        ("TableDeletionProtection".to_owned(), "false".to_owned()),
        ("UseFifoQueues".to_owned(), (slice == Slice::Fifo).to_string()),
    ]);
    let stack = provision(&template, &parameters, STACK, sdk)
        .await
        .map_err(setup("provisioning"))?;
    let reference = |logical_id: &str| {
        stack
            .reference(logical_id)
            .ok_or_else(|| RunError::Setup(format!("the template has no {logical_id}")))
    };
    let queues = vec![
        (QueueRole::TicketIssue, reference("TicketIssueQueue")?),
        (QueueRole::Notification, reference("NotificationQueue")?),
        (QueueRole::TicketIssueDlq, reference("TicketIssueDeadLetterQueue")?),
        (QueueRole::NotificationDlq, reference("NotificationDeadLetterQueue")?),
    ];
    let provisioned = Provisioned {
        tickets_table: reference("TicketsTable")?,
        idempotency_table: reference("IdempotencyTable")?,
        push_topic: reference("PushTopic")?,
        queues,
        stack,
    };
    for (role, url) in &provisioned.queues[..2] {
        sqs.set_queue_attributes()
            .queue_url(url)
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                params.visibility_timeout_s.to_string(),
            )
            .send()
            .await
            .map_err(|e| {
                RunError::Setup(format!(
                    "{}: {}",
                    role.name(),
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                ))
            })?;
    }
    Ok(provisioned)
}

/// The load plan, with its events seeded in the tickets table. FIFO: half as many users as
/// requests, so a user's message group holds several messages.
async fn seed_load(
    params: &Params,
    slice: Slice,
    dynamodb: &aws_sdk_dynamodb::Client,
    tickets_table: &str,
) -> Result<LoadPlan, RunError> {
    let plan = LoadPlan::generate_for_users(
        params.seed,
        params.requests,
        if slice == Slice::Fifo {
            params.requests / 2
        } else {
            params.requests
        },
        params.events,
        params.duplicate_rate,
        params.poison,
    );
    for event in &plan.events {
        ticket_processor::schema::seed_event(dynamodb, tickets_table, &event.id, event.capacity, event.shards)
            .await
            .map_err(|e| RunError::Setup(format!("seeding {}: {e}", event.id)))?;
    }
    Ok(plan)
}

/// The proxy and its hooks: the fault hook, then the limits model (so a refused call never
/// counts against a limit, docs/limits.md), then the recorders.
async fn start_proxy(params: &Params, moto: &MotoServer) -> Result<Hooks, RunError> {
    let faults = Arc::new(FaultHook::new(
        params.seed,
        FaultPolicy {
            answer_lost_rate: params.answer_lost_rate,
            ..FaultPolicy::new(params.fault_rate)
        },
    ));
    let sends = Arc::new(SendsHook::new());
    let mut hooks: Vec<Arc<dyn emulation::hook::Hook>> = vec![faults.clone()];
    let model = (params.limits_scale > 0.0).then(|| Arc::new(LimitsModel::new(chaos_limits(params))));
    if let Some(model) = &model {
        hooks.push(model.clone());
    }
    hooks.push(sends.clone());
    let ledger = Arc::new(LedgerHook::default());
    hooks.push(ledger.clone());
    let proxy = Proxy::start(&moto.endpoint(), hooks).await.map_err(setup("proxy"))?;
    Ok(Hooks {
        faults,
        sends,
        model,
        ledger,
        proxy,
    })
}

type Pools = BTreeMap<&'static str, Arc<WorkerPool>>;

/// The worker pools, each process with its own tagged endpoint of the proxy and, with clock
/// offsets on, its own wall clock; and dlq-redrive's pool.
async fn start_pools(
    params: &Params,
    stack: &Stack,
    proxy: &Proxy,
) -> Result<(Pools, Arc<WorkerPool>, Vec<String>), RunError> {
    if params.clock_skew_ms > 0 && !params.faketime_library.exists() {
        return Err(RunError::Setup(format!(
            "{} is missing: clock offsets need libfaketime (apt-get install faketime; the Makefile does), or set {}=0",
            params.faketime_library.display(),
            crate::params::env::CLOCK_SKEW_MS
        )));
    }
    let mut clock_offsets = Vec::new();
    let mut pools: Pools = BTreeMap::new();
    for binary in [TICKET_PROCESSOR, NOTIFICATION_SENDER] {
        // Each process its own endpoint of the proxy, tagged `<binary>/<slot>`: every call says
        // which process made it (the kill allowance is judged per process).
        let mut slots = Vec::new();
        for slot in 0..params.workers + 1 {
            let endpoint = proxy
                .tagged_endpoint(&crate::ledger::origin(binary, slot))
                .await
                .map_err(setup("proxy"))?;
            let mut environment = BTreeMap::from([("AWS_ENDPOINT_URL".to_owned(), endpoint)]);
            if let Some(offset) = clock_offset(params, binary, slot) {
                environment.extend(skewed_clock(params, offset));
                clock_offsets.push(format!("{}: {offset:+} ms", crate::ledger::origin(binary, slot)));
            }
            slots.push(environment);
        }
        let pool = WorkerPool::start_with(
            process_spec(params, stack, proxy, binary)?,
            slots,
            params.function_timeout,
        )
        .await
        .map_err(setup("worker pool"))?;
        pools.insert(binary, pool);
    }
    // Twice the workers' timeout (the template's is 900 s): dlq-redrive receives with a
    // visibility timeout of its remaining time + 30 s, so what a killed replay had received is
    // visible again within a minute, not fifteen (a round that runs out of time reports what
    // remains, and the next round goes on).
    let redrive = WorkerPool::start(
        process_spec(params, stack, proxy, DLQ_REDRIVE)?,
        1,
        params.function_timeout * 2,
    )
    .await
    .map_err(setup("dlq-redrive"))?;
    Ok((pools, redrive, clock_offsets))
}

/// A function's process as the template defines it, pointed at the proxy.
fn process_spec(params: &Params, stack: &Stack, proxy: &Proxy, binary: &str) -> Result<ProcessSpec, RunError> {
    let function = stack
        .function(binary)
        .ok_or_else(|| RunError::Setup(format!("the template has no function built from {binary}")))?;
    let mut environment = function.environment.clone();
    environment.extend(lambda_environment(&function.name, &proxy.endpoint()));
    Ok(ProcessSpec {
        binary: binary.to_owned(),
        path: params.bin_dir.join(binary).join("bootstrap"),
        function_name: function.name.clone(),
        environment,
        log: params.log_dir.join(format!("{binary}.log")),
        cpu_share: None,
    })
}

/// The template's SQS event source mappings, emulated: one poller each, invoking through a
/// [`DuplicatingInvoker`], at `CHAOS_WORKERS` concurrency.
fn start_mappings(
    params: &Params,
    stack: &Stack,
    pools: &Pools,
    sqs: &aws_sdk_sqs::Client,
    stop_rx: &tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<Mapping>, RunError> {
    let mut mappings = Vec::new();
    for mapping in &stack.event_source_mappings {
        let function = stack
            .mapped_function(mapping)
            .ok_or_else(|| RunError::Setup(format!("{}: no function", mapping.logical_id)))?;
        let pool = pools
            .get(function.binary.as_str())
            .ok_or_else(|| RunError::Setup(format!("{}: no pool for {}", mapping.logical_id, function.binary)))?
            .clone();
        let invoker = Arc::new(DuplicatingInvoker::new(
            pool.clone(),
            params.duplicate_rate,
            Rng::fork(params.seed, &format!("duplicates-{}", function.binary)),
        ));
        let mut mapping = mapping.clone();
        mapping.maximum_concurrency = params.workers;
        let poller = Arc::new(Poller {
            mapping,
            sqs: sqs.clone(),
            invoker: invoker.clone(),
            stats: Arc::new(MappingStats::default()),
            region: "us-east-1".to_owned(),
            wait: Duration::from_secs(1),
        });
        mappings.push((function.binary.clone(), poller.clone(), invoker, pool));
        tokio::spawn(poller.run(stop_rx.clone()));
    }
    Ok(mappings)
}

/// The wall-clock offset of a slot's processes, in ms (`None`: no offsets in this run). Drawn
/// from the seed within ± `clock_skew_ms`.
fn clock_offset(params: &Params, binary: &str, slot: usize) -> Option<i64> {
    (params.clock_skew_ms > 0).then(|| {
        let max = params.clock_skew_ms as i64;
        Rng::fork(params.seed, &format!("clock-{binary}-{slot}")).between(0, 2 * max as u64) as i64 - max
    })
}

/// libfaketime's environment for a wall clock off by `offset_ms`; the monotonic clocks (tokio's
/// timers, the SDK's timeouts) are left alone, as a host's NTP offset would leave them.
fn skewed_clock(params: &Params, offset_ms: i64) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("LD_PRELOAD".to_owned(), params.faketime_library.display().to_string()),
        ("FAKETIME".to_owned(), format!("{:+.3}", offset_ms as f64 / 1000.0)),
        ("FAKETIME_DONT_FAKE_MONOTONIC".to_owned(), "1".to_owned()),
        ("FAKETIME_DONT_RESET".to_owned(), "1".to_owned()),
    ])
}

/// The limits model in slow motion ×`limits_scale`, with SES's and SNS's account rates kept at
/// production's (the run is after DynamoDB's cancellations, not the sending pace), and a
/// partition's write capacity lowered to `partition_write_units` so hot items are throttled.
/// Its buckets hold one second of wall time (`burst_seconds` ÷ the scale, which the model
/// multiplies back): the scale is this run's fault rate, not slow motion, and a bucket of
/// `limits_scale` seconds would let the hot items through unthrottled.
pub(crate) fn chaos_limits(params: &Params) -> Limits {
    let production = Limits::default();
    Limits {
        scale: params.limits_scale,
        partition_write_units_per_second: params.partition_write_units,
        ses_max_send_rate: production.ses_max_send_rate * params.limits_scale,
        sns_publish_rate: production.sns_publish_rate * params.limits_scale,
        burst_seconds: production.burst_seconds / params.limits_scale,
        seed: params.seed,
        ..production
    }
}

/// Every address of the load, searched in the workers' logs, the dead letters' attributes and
/// dlq-redrive's reports (`moto_harness::personal_data`).
fn scan_personal_data(
    plan: &LoadPlan,
    log_dir: &Path,
    observed: &crate::observe::Observed,
    rounds: &[RedriveRound],
) -> Result<crate::invariants::Check, RunError> {
    use moto_harness::personal_data::{Scanner, log_files};
    let scanner = Scanner::new(plan.addresses());
    let logs = log_files(log_dir).map_err(setup("log directory"))?;
    let mut found = scanner.scan_files(&logs).map_err(setup("reading the logs"))?;
    let mut attributes = 0;
    for letter in &observed.dead_letters {
        for (name, value) in &letter.attributes {
            attributes += 1;
            let source = format!("{} message {} attribute {name}", letter.queue.name(), letter.message_id);
            found.extend(scanner.scan(&source, value));
        }
    }
    for (index, round) in rounds.iter().enumerate() {
        found.extend(scanner.scan(&format!("dlq-redrive report {}", index + 1), &round.report));
    }
    let searched = format!(
        "{} addresses searched in {} log files, {attributes} attributes of {} dead letters and {} reports",
        scanner.len(),
        logs.len(),
        observed.dead_letters.len(),
        rounds.len()
    );
    Ok(personal_data(&found, searched))
}

/// Progress on stderr, so a long run shows where it is.
fn progress(started: Instant, what: &str) {
    eprintln!("[chaos {:>5.0} s] {what}", started.elapsed().as_secs_f64());
}

type Mapping = (String, Arc<Poller>, Arc<DuplicatingInvoker>, Arc<WorkerPool>);

/// Wait until the source queues are empty (nothing visible, in flight or delayed) and no
/// invocation runs, three checks in a row a second apart. False when `deadline` comes first.
async fn settle(
    sqs: &aws_sdk_sqs::Client,
    queues: &[(QueueRole, String)],
    mappings: &[Mapping],
    deadline: Instant,
) -> bool {
    let mut quiet = 0;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut busy = mappings.iter().any(|(_, poller, invoker, _)| {
            poller.stats.in_flight.load(Ordering::SeqCst) > 0 || invoker.duplicates_in_flight.load(Ordering::SeqCst) > 0
        });
        for (role, url) in queues.iter().filter(|(role, _)| !role.is_dead_letter_queue()) {
            match queue_state(sqs, *role, url).await {
                Ok(state) => busy |= state.visible + state.in_flight + state.delayed > 0,
                Err(_) => busy = true,
            }
        }
        quiet = if busy { 0 } else { quiet + 1 };
        if quiet >= 3 {
            return true;
        }
    }
    false
}

/// Wait until nothing is in flight in the DLQs (a killed replay's receipts have expired). False
/// when `deadline` comes first.
async fn dead_letters_visible(sqs: &aws_sdk_sqs::Client, queues: &[(QueueRole, String)], deadline: Instant) -> bool {
    while Instant::now() < deadline {
        let mut hidden = 0;
        for (role, url) in queues.iter().filter(|(role, _)| role.is_dead_letter_queue()) {
            hidden += queue_state(sqs, *role, url).await.map_or(1, |state| state.in_flight);
        }
        if hidden == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    false
}

async fn redrive_round(redrive: &WorkerPool) -> RedriveRound {
    let invocation = redrive.invoke_payload(REDRIVE_REQUEST.as_bytes().to_vec()).await;
    let text = String::from_utf8_lossy(&invocation.payload).into_owned();
    let report: Value = serde_json::from_slice(&invocation.payload).unwrap_or(Value::Null);
    if invocation.function_error.is_some() || report.is_null() {
        return RedriveRound {
            summary: format!("failed: {text}"),
            report: text,
            failed: true,
            ..RedriveRound::default()
        };
    }
    let queues = report["queues"].as_array().cloned().unwrap_or_default();
    let moved = queues.iter().map(|q| q["moved"].as_u64().unwrap_or(0)).sum();
    let summary = queues
        .iter()
        .map(|q| {
            json!({"queue": q["queue"], "moved": q["moved"], "parked": q["parked"], "failed": q["failed"],
                   "skipped": q["skipped"], "remaining": q["remaining"]})
            .to_string()
        })
        .collect::<Vec<_>>()
        .join(", ");
    RedriveRound {
        moved,
        summary: format!("ok={} {summary}", report["ok"]),
        report: text,
        ..RedriveRound::default()
    }
}
