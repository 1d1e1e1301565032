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
use local_stack::cfn::Template;
use local_stack::esm::{MappingStats, Poller};
use local_stack::provision::{provision, transform};
use moto_harness::MotoServer;
use serde_json::{Value, json};

use crate::duplicates::DuplicatingInvoker;
use crate::invariants::{Expectations, MotoSends, Verdict, check, personal_data, sends_agree};
use crate::ledger::{KillAt, LedgerHook};
use crate::load::{LoadPlan, Queues, send};
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

pub async fn run(params: &Params) -> Result<(RunFigures, Verdict), RunError> {
    let started = Instant::now();
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

    // --- setup
    let moto = MotoServer::start();
    let sdk = moto.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let document = transform(&moto_harness::python(), &params.template).map_err(setup("SAM transform"))?;
    let template = Template::from_json(&document).map_err(setup("template"))?;
    let parameters = HashMap::from([
        ("SenderEmail".to_owned(), SENDER.to_owned()),
        ("CreateSenderIdentity".to_owned(), "true".to_owned()),
        ("MaxReceiveCount".to_owned(), params.max_receive_count.to_string()),
        ("TableDeletionProtection".to_owned(), "false".to_owned()),
    ]);
    let stack = provision(&template, &parameters, STACK, &sdk)
        .await
        .map_err(setup("provisioning"))?;
    let queue = |logical_id: &str| {
        stack
            .reference(logical_id)
            .ok_or_else(|| RunError::Setup(format!("the template has no {logical_id}")))
    };
    let queues = vec![
        (QueueRole::TicketIssue, queue("TicketIssueQueue")?),
        (QueueRole::Notification, queue("NotificationQueue")?),
        (QueueRole::TicketIssueDlq, queue("TicketIssueDeadLetterQueue")?),
        (QueueRole::NotificationDlq, queue("NotificationDeadLetterQueue")?),
    ];
    let tickets_table = queue("TicketsTable")?;
    let idempotency_table = queue("IdempotencyTable")?;
    let push_topic = queue("PushTopic")?;
    for (role, url) in &queues[..2] {
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
    let plan = LoadPlan::generate(
        params.seed,
        params.requests,
        params.events,
        params.duplicate_rate,
        params.poison,
    );
    for event in &plan.events {
        ticket_processor::schema::seed_event(&dynamodb, &tickets_table, &event.id, event.capacity, event.shards)
            .await
            .map_err(|e| RunError::Setup(format!("seeding {}: {e}", event.id)))?;
    }

    let faults = Arc::new(FaultHook::new(
        params.seed,
        FaultPolicy {
            answer_lost_rate: params.answer_lost_rate,
            ..FaultPolicy::new(params.fault_rate)
        },
    ));
    let sends = Arc::new(SendsHook::new());
    // The fault hook before the limits model, so a refused call never counts against a limit
    // (docs/limits.md).
    let mut hooks: Vec<Arc<dyn emulation::hook::Hook>> = vec![faults.clone()];
    let model = (params.limits_scale > 0.0).then(|| Arc::new(LimitsModel::new(chaos_limits(params))));
    if let Some(model) = &model {
        hooks.push(model.clone());
    }
    hooks.push(sends.clone());
    let ledger = Arc::new(LedgerHook::default());
    hooks.push(ledger.clone());
    let proxy = Proxy::start(&moto.endpoint(), hooks).await.map_err(setup("proxy"))?;
    let spec = |binary: &str| -> Result<ProcessSpec, RunError> {
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
    };
    if params.clock_skew_ms > 0 && !params.faketime_library.exists() {
        return Err(RunError::Setup(format!(
            "{} is missing: clock offsets need libfaketime (apt-get install faketime; the Makefile does), or set {}=0",
            params.faketime_library.display(),
            crate::params::env::CLOCK_SKEW_MS
        )));
    }
    let mut clock_offsets = Vec::new();
    let mut pools: BTreeMap<&str, Arc<WorkerPool>> = BTreeMap::new();
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
        let pool = WorkerPool::start_with(spec(binary)?, slots, params.function_timeout)
            .await
            .map_err(setup("worker pool"))?;
        pools.insert(binary, pool);
    }
    // Twice the workers' timeout (the template's is 900 s): dlq-redrive receives with a
    // visibility timeout of its remaining time + 30 s, so what a killed replay had received is
    // visible again within a minute, not fifteen (a round that runs out of time reports what
    // remains, and the next round goes on).
    let redrive = WorkerPool::start(spec(DLQ_REDRIVE)?, 1, params.function_timeout * 2)
        .await
        .map_err(setup("dlq-redrive"))?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // moto's own record of the pushes, independent of the proxy's (crate::tap).
    let push_tap = crate::tap::PushTap::start(&sqs, &aws_sdk_sns::Client::new(&sdk), &push_topic, stop_rx.clone())
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

    // --- storm
    let deadline = started + params.time_limit;
    let queues_ref = Queues {
        ticket_issue: &queues[0].1,
        notification: &queues[1].1,
    };
    progress(
        started,
        "setup done; sending the load under faults, kills and duplicate deliveries",
    );
    let sent = send(&plan, &sqs, &queues_ref, params.queue_depth)
        .await
        .map_err(RunError::Setup)?;
    progress(
        started,
        &format!("{} messages sent; waiting for the queues to drain", sent.messages),
    );
    let mut settled = settle(&sqs, &queues, &mappings, deadline).await;
    let storm = started.elapsed();
    progress(
        started,
        if settled {
            "drained; faults and kills off"
        } else {
            "did not drain in time"
        },
    );

    // --- redrive under chaos: faults and kills go on, and dlq-redrive's own process is killed
    // at a random point of its replay
    let mut rounds = Vec::new();
    let mut redrive_kills = Vec::new();
    if settled {
        for round_index in 0..params.redrive_chaos_rounds {
            let delay = Rng::fork(params.seed, &format!("redrive-kill-{round_index}")).between(0, 1_500);
            let killer = {
                let redrive = redrive.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    match redrive.busy().first() {
                        Some(slot) => redrive.kill_and_restart(*slot).await.ok(),
                        None => None,
                    }
                })
            };
            let mut round = redrive_round(&redrive).await;
            round.chaotic = true;
            if let Ok(Some(kill)) = killer.await {
                round.killed = true;
                redrive_kills.push(kill);
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
            settled = settle(&sqs, &queues, &mappings, deadline).await;
            if killed && settled {
                // What the killed replay had received stays hidden in the DLQs for their
                // visibility timeout: the next replay (an operator's retry) comes after it.
                settled = dead_letters_visible(&sqs, &queues, deadline).await;
            }
            if !settled {
                break;
            }
        }
    }

    // --- calm and redrive
    let _ = killing_tx.send(false);
    faults.set_rate(0.0);
    faults.set_answer_lost_rate(0.0);
    if settled {
        for _ in 0..REDRIVE_ROUNDS {
            let round = redrive_round(&redrive).await;
            progress(
                started,
                &format!("dlq-redrive moved {}: {}", round.moved, round.summary),
            );
            let done = round.moved == 0 && !round.failed;
            rounds.push(round);
            if done {
                break;
            }
            settled = settle(&sqs, &queues, &mappings, deadline).await;
            if !settled {
                break;
            }
        }
    }
    let _ = stop_tx.send(true);
    let _ = supervising.await;
    for error in proxy.upstream_errors() {
        progress(started, &format!("proxy could not forward: {error}"));
    }

    // --- check
    progress(started, "observing the emulator's state");
    let sends = sends.sends();
    let observed = observe(&Sources {
        dynamodb: &dynamodb,
        sqs: &sqs,
        tickets_table: &tickets_table,
        idempotency_table: &idempotency_table,
        queues: queues.clone(),
        sends: sends.clone(),
    })
    .await
    .map_err(RunError::Setup)?;
    let mut moto_sends = MotoSends {
        delivered_pushes: Some(push_tap.pushes().await),
        ..MotoSends::default()
    };
    match crate::tap::moto_emails_sent(&moto.endpoint()).await {
        Ok(count) => moto_sends.emails_accepted = Some(count),
        Err(error) => progress(started, &format!("moto's email count not read: {error}")),
    }
    if params.requests <= params.data_json_max {
        let data = crate::observe::moto_data(&moto.endpoint())
            .await
            .map_err(RunError::Setup)?;
        moto_sends.data_json = Some(crate::observe::read_sends(&data));
    }
    let kills = supervisor.all_kills();
    let mut ledger = ledger.ledger();
    ledger.timeline.kills = kills
        .iter()
        .map(|kill| KillAt {
            origin: crate::ledger::origin(&kill.binary, kill.slot),
            at: kill.at,
        })
        .collect();
    let mut verdict = check(
        &Expectations {
            plan: &plan,
            sender: SENDER,
            push_topic: &push_topic,
            timeline: &ledger.timeline,
        },
        &observed,
    );
    verdict.checks.push(crate::invariants::sold_out_in_time(&plan, &ledger));
    verdict
        .checks
        .extend(crate::invariants::idempotency_checks(&plan, &observed));
    verdict.checks.push(sends_agree(&sends, &moto_sends));
    verdict
        .checks
        .push(scan_personal_data(&plan, &params.log_dir, &observed, &rounds)?);

    let mut functions = BTreeMap::new();
    for (binary, _, invoker, pool) in &mappings {
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
    let figures = RunFigures {
        parameters: params.describe(),
        duration: started.elapsed(),
        storm,
        settled,
        messages_sent: sent.messages,
        producer_duplicates: plan.duplicates(),
        poison: plan.poison.len(),
        events: plan.events.len(),
        functions,
        freezes: *supervisor.freezes.lock().unwrap(),
        clock_offsets,
        unexpected_exits: supervisor.unexpected_exits.lock().unwrap().clone(),
        supervisor_errors: supervisor.errors.lock().unwrap().clone(),
        proxy: faults.counts(),
        model: model.map(|m| m.counts()).unwrap_or_default(),
        redrive: rounds,
        log_dir: params.log_dir.display().to_string(),
    };
    Ok((figures, verdict))
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
fn chaos_limits(params: &Params) -> Limits {
    let production = Limits::default();
    Limits {
        scale: params.limits_scale,
        partition_write_units_per_second: params.partition_write_units,
        ses_max_send_rate: production.ses_max_send_rate * params.limits_scale,
        sns_publish_rate: production.sns_publish_rate * params.limits_scale,
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
