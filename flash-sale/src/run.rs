//! A whole sale, in phases:
//! 1. **setup** ([`crate::setup`]): moto, the template, the event, the proxy with the limits model,
//!    the worker processes and the event source mappings;
//! 2. **sale**: the producer admits the line and sends the requests; every second the queues are
//!    sampled; until everything is resolved (the queues empty, nothing running, the producer
//!    done) or the time limit;
//! 3. **observe**: the emulator's state (tickets, counters, dead letters) and the proxy's record;
//! 4. **measure**: the figures ([`crate::measure`]) and the goals ([`crate::goals`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use emulation::limits::params::Limits;
use emulation::machine::Host;

use emulation::queues::DeadLetter;
use emulation::sends::{EmailSend, PushSend};

use crate::figures::{Figures, Parameters, Percentiles, Sample};
use crate::invocations::InvocationRecord;
use crate::measure::{self, Ceiling, Observations};
use crate::params::{Args, Paths};
use crate::recorder::Record;
use crate::sale::{Admission, Sale};
use crate::setup::{CpuShareState, NOTIFICATION_SENDER, Setup, TICKET_PROCESSOR, setup};
use crate::tickets_state;

/// Units of a ticket's transaction on its event's partition in today's ticket-processor: the
/// ticket and the event's counter, two transactional writes of at most 1 KB that share the
/// event's partition key. `--admission <k>x` multiplies the ceiling this gives.
pub const TODAYS_UNITS_PER_TICKET: f64 = 4.0;

/// The single-item ceiling of today's design (tickets per second, the model's time): the
/// partition's write limit ÷ today's units per ticket, or 1 ÷ the mean transaction hold.
pub fn todays_ceiling(limits: &Limits) -> f64 {
    let model = emulation::limits::LimitsModel::new(limits.clone());
    let hold = model.mean_transaction_hold().as_secs_f64() / limits.scale;
    (limits.partition_write_units_per_second / TODAYS_UNITS_PER_TICKET).min(1.0 / hold)
}

/// Progress on stderr, so a long run shows where it is.
pub fn progress(started: Instant, what: &str) {
    eprintln!("[flash-sale {:>5.0} s] {what}", started.elapsed().as_secs_f64());
}

pub async fn run(args: &Args, paths: &Paths) -> Result<Figures, String> {
    let started = Instant::now();
    let limits = Limits {
        scale: args.scale,
        seed: args.seed,
        ..Limits::default()
    };
    let admission = args.admission(todays_ceiling(&limits))?;
    let sale = Sale::plan(args.seed, args.seats, args.requests, args.duplicates, admission);
    progress(
        started,
        &format!(
            "{} seats, {} people ({} producer duplicates), admitted {}, scale {}",
            sale.seats,
            sale.people.len(),
            sale.duplicates(),
            admission.describe(),
            args.scale
        ),
    );
    let host = Host::describe();
    let setup = setup(args, paths, &sale, limits).await.map_err(|e| e.to_string())?;
    progress(started, &format!("set up; CPU share: {}", setup.cpu_share.describe()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let polling: Vec<_> = setup
        .functions
        .iter()
        .map(|f| tokio::spawn(f.poller.clone().run(stop_rx.clone())))
        .collect();

    let t0 = Instant::now();
    let sent = Arc::new(AtomicUsize::new(0));
    let producing = {
        let (sale, sqs, queue, sent) = (
            sale.clone(),
            setup.sqs.clone(),
            setup.queues.ticket_issue.clone(),
            sent.clone(),
        );
        let (depth, scale) = (args.queue_depth, args.scale);
        tokio::spawn(async move { crate::producer::produce(&sale, &sqs, &queue, depth, scale, t0, &sent).await })
    };
    let deadline = t0 + Duration::from_secs(args.time_limit);
    let (timeline, drained) = watch_the_sale(&setup, &sale, args.scale, t0, &sent, &producing, deadline, started).await;
    let sale_wall = t0.elapsed();
    if !producing.is_finished() {
        producing.abort();
    } else if let Ok(Err(error)) = producing.await {
        return Err(format!("the producer failed: {error}"));
    }
    let _ = stop_tx.send(true);
    for poller in polling {
        let _ = tokio::time::timeout(Duration::from_secs(5), poller).await;
    }
    progress(
        started,
        if drained {
            "drained; observing"
        } else {
            "time limit reached; observing what is left"
        },
    );
    let mut figures = observe_and_measure(args, paths, &setup, &sale, t0, drained, timeline).await?;
    figures.host = host;
    figures.run_s = started.elapsed().as_secs_f64();
    figures.sale_wall_s = sale_wall.as_secs_f64();
    if let CpuShareState::On(shares) = &setup.cpu_share {
        for (_, share) in shares {
            share.remove().map_err(|e| format!("removing the cgroups: {e}"))?;
        }
    }
    Ok(figures)
}

/// Sample the sale every second until it is resolved (three quiet samples in a row) or the
/// deadline; print progress every ten seconds. Returns the samples and whether it drained.
#[allow(clippy::too_many_arguments)]
async fn watch_the_sale(
    setup: &Setup,
    sale: &Sale,
    scale: f64,
    t0: Instant,
    sent: &AtomicUsize,
    producing: &tokio::task::JoinHandle<Result<(), String>>,
    deadline: Instant,
    started: Instant,
) -> (Vec<Sample>, bool) {
    let mut timeline = Vec::new();
    let mut quiet = 0;
    let mut ticks = 0u64;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        ticks += 1;
        let t = t0.elapsed().as_secs_f64() / scale;
        let admitted = sale.messages.iter().take_while(|m| m.due <= t).count();
        let sent_now = sent.load(Ordering::Relaxed);
        let ticket = emulation::queues::depth(&setup.sqs, &setup.queues.ticket_issue)
            .await
            .unwrap_or_default();
        let notification = emulation::queues::depth(&setup.sqs, &setup.queues.notification)
            .await
            .unwrap_or_default();
        let sample = Sample {
            t,
            admitted,
            waiting_at_producer: admitted.saturating_sub(sent_now),
            ticket_queue_visible: ticket.visible,
            ticket_queue_in_flight: ticket.in_flight + ticket.delayed,
            notification_queue_visible: notification.visible,
            notification_queue_in_flight: notification.in_flight + notification.delayed,
            tickets: setup.recorder.puts(),
        };
        if ticks.is_multiple_of(10) {
            progress(
                started,
                &format!(
                    "t = {t:.0} s: {admitted} admitted, {sent_now} sent; ticket queue {} + {} in flight, notification queue {} + {} in flight; {} tickets, {} emails",
                    sample.ticket_queue_visible,
                    sample.ticket_queue_in_flight,
                    sample.notification_queue_visible,
                    sample.notification_queue_in_flight,
                    sample.tickets,
                    setup.sends.emails_accepted(),
                ),
            );
        }
        let running = setup
            .functions
            .iter()
            .any(|f| f.poller.stats.in_flight.load(Ordering::SeqCst) > 0);
        let busy = !producing.is_finished() || running || ticket.total() + notification.total() > 0;
        timeline.push(sample);
        quiet = if busy { 0 } else { quiet + 1 };
        if quiet >= 3 {
            return (timeline, true);
        }
    }
    (timeline, false)
}

/// What the emulator and the proxy hold when the sale ends.
struct Observed {
    state: tickets_state::EventState,
    ticket_dead_letters: Vec<DeadLetter>,
    notification_dead_letters: Vec<DeadLetter>,
    record: Record,
    emails: Vec<(Instant, EmailSend)>,
    pushes: Vec<(Instant, PushSend)>,
    invocations: Vec<InvocationRecord>,
}

async fn observe(setup: &Setup, sale: &Sale) -> Result<Observed, String> {
    Ok(Observed {
        state: tickets_state::read(&setup.dynamodb, &setup.tickets_table, &sale.event_id).await?,
        ticket_dead_letters: emulation::queues::dead_letters(&setup.sqs, &setup.queues.ticket_dlq).await?,
        notification_dead_letters: emulation::queues::dead_letters(&setup.sqs, &setup.queues.notification_dlq).await?,
        record: setup.recorder.take(),
        emails: setup.sends.timed_emails(),
        pushes: setup.sends.timed_pushes(),
        invocations: setup.invocations.lock().unwrap().clone(),
    })
}

async fn observe_and_measure(
    args: &Args,
    paths: &Paths,
    setup: &Setup,
    sale: &Sale,
    t0: Instant,
    drained: bool,
    timeline: Vec<Sample>,
) -> Result<Figures, String> {
    let observed = observe(setup, sale).await?;
    let obs = Observations {
        sale,
        tickets_table: &setup.tickets_table,
        t0,
        scale: args.scale,
        state: &observed.state,
        record: &observed.record,
        emails: &observed.emails,
        pushes: &observed.pushes,
        invocations: &observed.invocations,
        ticket_dead_letters: &observed.ticket_dead_letters,
        notification_dead_letters: &observed.notification_dead_letters,
        visibility_timeout: setup.visibility_timeout,
    };
    Ok(measure_figures(args, paths, setup, &obs, drained, timeline))
}

/// Every figure of the run, and its goals, from what it observed.
fn measure_figures(
    args: &Args,
    paths: &Paths,
    setup: &Setup,
    obs: &Observations<'_>,
    drained: bool,
    timeline: Vec<Sample>,
) -> Figures {
    let sale = obs.sale;
    let counts = setup.model.counts();
    let limits = setup.model.limits();
    let (endings, outcomes) = measure::outcomes(obs);
    let time_to_ticket = measure::time_to_ticket(obs, &endings);
    let receive_to_ticket = measure::receive_to_ticket(obs, &endings, TICKET_PROCESSOR);
    let time_to_email = measure::time_to_email(obs);
    let (fairness_violations, refused) = measure::fairness(sale, &endings, args.fairness_window);
    let operations = measure::operations(obs.record, &counts);
    let admission_rate = match sale.admission {
        Admission::PerSecond(rate) => Some(rate),
        Admission::Burst => None,
    };
    let ceiling = Ceiling {
        partition_write_units_per_second: limits.partition_write_units_per_second,
        mean_hold_s: setup.model.mean_transaction_hold().as_secs_f64() / args.scale,
    };
    let mut figures = Figures {
        label: args.label.clone(),
        commit: commit(&paths.workspace),
        parameters: parameters(args, paths, setup, sale, admission_rate),
        limits: limits.rows(),
        host: Host::describe(),
        load_average_at_end: emulation::machine::load_average(),
        cpu_share: setup.cpu_share.describe(),
        run_s: 0.0,
        sale_wall_s: 0.0,
        runner_cpu_s: own_cpu_seconds(),
        sale_s: sale_length(obs),
        drained,
        outcomes,
        time_to_ticket: Percentiles::of(&time_to_ticket),
        receive_to_ticket: Percentiles::of(&receive_to_ticket),
        time_to_email: Percentiles::of(&time_to_email),
        fairness_violations,
        refused,
        sends: measure::sends(obs, &endings, &counts, limits.ses_max_send_rate),
        ticket_receives: measure::receives(obs.invocations, TICKET_PROCESSOR, setup.visibility_timeout),
        notification_receives: measure::receives(obs.invocations, NOTIFICATION_SENDER, setup.visibility_timeout),
        ticket_dead_letters: obs.ticket_dead_letters.len(),
        notification_dead_letters: obs.notification_dead_letters.len(),
        dead_letter_kinds: measure::dead_letter_kinds(
            &obs.ticket_dead_letters
                .iter()
                .chain(obs.notification_dead_letters)
                .collect::<Vec<_>>(),
        ),
        emulator_slower_share: measure::emulator_slower_share(&operations),
        proxy_errors: setup.proxy.upstream_errors(),
        operations,
        throughput: measure::throughput(obs, &ceiling, admission_rate),
        cpu_throttling: cpu_throttling(setup),
        timeline,
        time_to_ticket_samples: time_to_ticket,
        goals: Vec::new(),
    };
    figures.goals = crate::goals::goals(&figures);
    figures
}

/// The last ticket write, notification or send, in the model's time: when the sale's last
/// request was resolved.
fn sale_length(obs: &Observations<'_>) -> f64 {
    let record = obs.record;
    record
        .puts
        .iter()
        .map(|(at, _)| *at)
        .chain(record.notifications.iter().map(|n| n.at))
        .chain(obs.emails.iter().map(|(at, _)| *at))
        .chain(obs.pushes.iter().map(|(at, _)| *at))
        .map(|at| obs.model_s(at))
        .fold(0.0, f64::max)
}

/// Per function: the share of its processes' CFS periods in which they were throttled, and the
/// seconds they waited for their next period.
fn cpu_throttling(setup: &Setup) -> std::collections::BTreeMap<String, (f64, f64)> {
    setup
        .functions
        .iter()
        .map(|f| {
            let groups = f.pool.throttling();
            let periods: u64 = groups.iter().map(|g| g.periods).sum();
            let throttled: u64 = groups.iter().map(|g| g.throttled_periods).sum();
            let seconds: f64 = groups.iter().map(|g| g.throttled.as_secs_f64()).sum();
            let share = if periods == 0 {
                0.0
            } else {
                throttled as f64 / periods as f64
            };
            (f.binary.clone(), (share, seconds))
        })
        .collect()
}

fn parameters(args: &Args, paths: &Paths, setup: &Setup, sale: &Sale, admission_rate: Option<f64>) -> Parameters {
    let mapping = setup.functions.first().map(|f| &f.poller.mapping);
    Parameters {
        seats: sale.seats,
        shards: args.shards,
        requests: sale.people.len(),
        duplicates: args.duplicates,
        producer_duplicates: sale.duplicates(),
        admission: args.admission.clone(),
        admission_rate,
        fairness_window_s: args.fairness_window,
        scale: args.scale,
        seed: args.seed,
        visibility_timeout_s: setup.visibility_timeout.as_secs_f64(),
        max_receive_count: setup.max_receive_count,
        notification_max_receive_count: setup.notification_max_receive_count,
        batch_size: mapping.map_or(0, |m| m.batch_size),
        maximum_concurrency: setup
            .functions
            .iter()
            .map(|f| (f.binary.clone(), f.poller.mapping.maximum_concurrency))
            .collect(),
        cpu_share: setup.cpu_share.describe(),
        bin_dir: paths.bin_dir.display().to_string(),
        command: crate::params::make_command(&std::env::args().skip(1).collect::<Vec<_>>()),
    }
}

/// utime + stime of this process (`/proc/self/stat`), seconds.
fn own_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some(after_name) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<f64>().ok()))
        .sum();
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// `git describe` of the workspace, for the report.
fn commit(workspace: &std::path::Path) -> String {
    emulation::machine::output(
        std::process::Command::new("git")
            .arg("-C")
            .arg(workspace)
            .args(["describe", "--always", "--dirty"]),
    )
}
