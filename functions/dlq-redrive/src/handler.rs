//! The handler: one invocation parses the request, runs it on each selected DLQ in turn (dry run,
//! replay or move task) and returns the report.

use std::time::Instant;

use aws_sdk_sqs::Client;
use serde_json::Value;
use shared::Deadline;
use shared::metrics::Metrics;

use crate::config::{RedriveConfig, Route};
use crate::dry_run::DryRun;
use crate::error::{QueueError, RequestError};
use crate::metrics::count_report;
use crate::move_task;
use crate::receive_loop::ReceiveLoop;
use crate::replay::Replay;
use crate::report::{MoveTaskReport, QueueReport, Report, millis};
use crate::request::{Command, ReplayPlan, Request};
use crate::sqs;
use crate::timing::Timing;

/// Built once per execution environment; [`Redrive::handle`] serves each invocation.
#[derive(Debug, Clone)]
pub struct Redrive {
    config: RedriveConfig,
    sqs: Client,
    timing: Timing,
    metrics: Option<Metrics>,
}

impl Redrive {
    pub fn new(config: RedriveConfig, sqs: Client) -> Self {
        Self {
            config,
            sqs,
            timing: Timing::default(),
            metrics: None,
        }
    }

    /// Write one EMF line per [`Redrive::invoke`] to `metrics` ([`crate::metrics`]).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    pub fn with_timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    pub fn config(&self) -> &RedriveConfig {
        &self.config
    }

    /// One Lambda invocation: [`Redrive::handle`] with the invocation's deadline; with metrics,
    /// the invocation's EMF line is written before this returns.
    pub async fn invoke(&self, payload: Value, context: &lambda_runtime::Context) -> Result<Report, RequestError> {
        let invocation = self.metrics.as_ref().map(|metrics| metrics.start(context));
        // Boxed: the request's future is deep enough to overflow the compiler's layout query
        // once wrapped again by lambda_runtime's service.
        let result = Box::pin(self.handle(payload, Deadline::from_context(context))).await;
        if let (Some(invocation), Ok(report)) = (&invocation, &result) {
            count_report(invocation, report);
        }
        result
    }

    /// Runs a request. An invalid request is an error (nothing was touched); failures while
    /// running are in the report, per queue.
    pub async fn handle(&self, payload: Value, deadline: Deadline) -> Result<Report, RequestError> {
        let started = Instant::now();
        let request = Request::parse(payload, &self.config)?;
        tracing::info!(mode = ?request.mode, action = ?request.action, dry_run = request.dry_run(),
            time_left_ms = deadline.remaining().map(|left| left.as_millis() as u64),
            queues = ?request.routes.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), "redrive request");
        let mut queues = Vec::with_capacity(request.routes.len());
        for route in &request.routes {
            queues.push(self.run_queue(route, &request.command, deadline).await);
        }
        Ok(Report {
            ok: queues.iter().all(QueueReport::is_ok),
            mode: request.mode,
            action: request.action,
            dry_run: request.dry_run(),
            queues,
            duration_ms: millis(started.elapsed()),
        })
    }

    async fn run_queue(&self, route: &Route, command: &Command, deadline: Deadline) -> QueueReport {
        let started = Instant::now();
        let mut report = QueueReport::new(route);
        match command {
            Command::Replay(plan) if plan.dry_run => self.dry_run(route, plan, deadline, &mut report).await,
            Command::Replay(plan) => {
                let receive_loop = self.receive_loop(route, deadline, plan.max_messages, plan.max_per_second);
                Replay::new(&self.sqs, route, &plan.filter, self.config.max_redrive_count)
                    .run(&receive_loop, &mut report)
                    .await
            }
            Command::MoveTaskStart {
                dry_run,
                max_per_second,
                destination,
            } => {
                let task = move_task::task_request(route, destination.as_deref(), *max_per_second);
                if *dry_run {
                    // What SQS would move: everything, so inspect without filter or limit.
                    self.dry_run(route, &ReplayPlan::default(), deadline, &mut report).await;
                    report.move_task = Some(MoveTaskReport {
                        would_start: Some(task),
                        ..Default::default()
                    });
                } else {
                    record(&mut report, move_task::start(&self.sqs, route, task).await);
                }
            }
            Command::MoveTaskStatus => record(&mut report, move_task::status(&self.sqs, route).await),
            Command::MoveTaskCancel { task_handle } => {
                let result = move_task::cancel(&self.sqs, route, task_handle.as_deref()).await;
                record(&mut report, result);
            }
        }
        match sqs::depth(&self.sqs, &route.dlq_url).await {
            Ok((visible, in_flight)) => {
                report.remaining = Some(visible);
                report.in_flight = Some(in_flight);
            }
            Err(error) => report.error(error),
        }
        report.duration_ms = millis(started.elapsed());
        report
    }

    async fn dry_run(&self, route: &Route, plan: &ReplayPlan, deadline: Deadline, report: &mut QueueReport) {
        // A dry run sends nothing: nothing to pace.
        let receive_loop = self.receive_loop(route, deadline, plan.max_messages, None);
        DryRun::new(&plan.filter, self.config.max_redrive_count, route.is_fifo())
            .run(&receive_loop, report)
            .await
    }

    fn receive_loop<'a>(
        &'a self,
        route: &'a Route,
        deadline: Deadline,
        max_messages: Option<u32>,
        max_per_second: Option<u32>,
    ) -> ReceiveLoop<'a> {
        ReceiveLoop {
            sqs: &self.sqs,
            dlq_url: &route.dlq_url,
            timing: &self.timing,
            deadline,
            max_messages,
            max_per_second,
        }
    }
}

fn record(report: &mut QueueReport, result: Result<MoveTaskReport, QueueError>) {
    match result {
        Ok(move_task) => report.move_task = Some(move_task),
        Err(error) => report.error(error),
    }
}
