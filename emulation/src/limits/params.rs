//! Every limit of the model: its production default and where that comes from, next to it.
//! `docs/limits.md` lists the same table (a test keeps the two in step), and a run's report
//! prints [`Limits::rows`] with the values in force.
//!
//! **Scale.** `scale` (≥ 1) slows the modelled world down: every rate is divided by it and every
//! modelled duration (latencies, transaction holds, a bucket's `burst_seconds`) multiplied by
//! it, so a run is production in slow motion, and the model's time is wall time ÷ `scale`. At 1
//! the model is production's. See `docs/limits.md`.

use std::time::Duration;

use crate::call::Service;

/// A modelled service latency: a log-normal distribution fitted to its median and 99th
/// percentile.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LatencySpec {
    pub service: Service,
    /// `*` for every operation of the service without a row of its own.
    pub operation: String,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Where the latency defaults come from: AWS publishes no latency figures beyond DynamoDB's
/// "single-digit millisecond" for single-item operations; the rest are typical in-region values
/// assumed for the model, to be replaced by measured ones when there are any.
pub const LATENCY_SOURCE: &str = "assumed typical in-region figures; AWS documents only DynamoDB's \
\"single-digit millisecond\" single-item latency (DynamoDB Developer Guide, \"What is Amazon DynamoDB?\") and \
that transactions take longer (two-phase; \"Amazon DynamoDB Transactions: How it works\")";

/// The limits of the model, at production's values unless changed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Slow motion: rates ÷ scale, modelled durations × scale (1: production).
    pub scale: f64,
    /// Write capacity units one partition serves per second. Default 1,000. Source: DynamoDB
    /// Developer Guide, "Partitions and data distribution" and the re:Post knowledge center's "My
    /// on-demand Amazon DynamoDB table has throttling" ("each partition … up to 3,000 read request
    /// units or 1,000 write request units"); adaptive capacity can isolate a hot item on its own
    /// partition, never beyond this.
    pub partition_write_units_per_second: f64,
    /// Read capacity units one partition serves per second. Default 3,000. Same sources.
    pub partition_read_units_per_second: f64,
    /// Bytes one write unit covers. Default 1,024 (1 KB). Source: DynamoDB Developer Guide,
    /// "Read/write capacity mode" (one write unit: one write per second of an item up to 1 KB).
    pub write_unit_bytes: f64,
    /// Bytes one read unit covers (strongly consistent; eventually consistent costs half).
    /// Default 4,096 (4 KB). Same source.
    pub read_unit_bytes: f64,
    /// Transactional reads and writes cost this many times a plain one. Default 2. Source:
    /// "Amazon DynamoDB Transactions: How it works", "Capacity management for transactions".
    pub transactional_multiplier: f64,
    /// How many seconds of its rate a limit can absorb at once (token bucket depth). Default 1:
    /// DynamoDB measures partition throughput per second and keeps no burst beyond its hard
    /// limit per partition ("Burst capacity" is table-level); SES and SNS state their quotas per
    /// second.
    pub burst_seconds: f64,
    /// SES emails per second for the account. Default 14. Source: SES Developer Guide, "Service
    /// quotas in Amazon SES" / "Managing your Amazon SES sending quotas" (the rate is per
    /// account, read with SESv2 `GetAccount` → `SendQuota.MaxSendRate`; new production accounts
    /// have long started at 14 per second; the sandbox allows 1).
    pub ses_max_send_rate: f64,
    /// SNS Publish calls per second for the account. Default 30,000. Source: AWS General
    /// Reference, "Amazon SNS endpoints and quotas", Publish API throttling in us-east-1 (lower
    /// in other regions).
    pub sns_publish_rate: f64,
    /// Service latency per operation. Defaults: [`default_latencies`]; source:
    /// [`LATENCY_SOURCE`].
    pub latencies: Vec<LatencySpec>,
    /// Seeds the latency draws.
    pub seed: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            scale: 1.0,
            partition_write_units_per_second: 1_000.0,
            partition_read_units_per_second: 3_000.0,
            write_unit_bytes: 1_024.0,
            read_unit_bytes: 4_096.0,
            transactional_multiplier: 2.0,
            burst_seconds: 1.0,
            ses_max_send_rate: 14.0,
            sns_publish_rate: 30_000.0,
            latencies: default_latencies(),
            seed: 1,
        }
    }
}

/// Latency defaults, p50 and p99 in milliseconds (source: [`LATENCY_SOURCE`]).
pub fn default_latencies() -> Vec<LatencySpec> {
    let row = |service, operation: &str, p50_ms, p99_ms| LatencySpec {
        service,
        operation: operation.to_owned(),
        p50_ms,
        p99_ms,
    };
    use Service::{DynamoDb, Ses, Sns, Sqs};
    vec![
        row(DynamoDb, "GetItem", 3.0, 10.0),
        row(DynamoDb, "PutItem", 5.0, 15.0),
        row(DynamoDb, "UpdateItem", 5.0, 15.0),
        row(DynamoDb, "DeleteItem", 5.0, 15.0),
        row(DynamoDb, "TransactWriteItems", 12.0, 40.0),
        row(DynamoDb, "TransactGetItems", 8.0, 25.0),
        row(DynamoDb, "*", 6.0, 25.0),
        row(Sqs, "SendMessage", 8.0, 25.0),
        row(Sqs, "SendMessageBatch", 10.0, 30.0),
        row(Sqs, "*", 8.0, 25.0),
        row(Ses, "SendEmail", 60.0, 250.0),
        row(Ses, "*", 30.0, 100.0),
        row(Sns, "Publish", 20.0, 80.0),
        row(Sns, "*", 20.0, 80.0),
    ]
}

/// One limit for a report or a document: its name, the value in force, the production value
/// it stands for, and the source.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LimitRow {
    pub name: String,
    pub unit: String,
    pub value: f64,
    pub production: f64,
    pub source: String,
}

impl Limits {
    /// Rates per second as the run applies them (÷ scale).
    pub fn rate(&self, production: f64) -> f64 {
        production / self.scale
    }

    /// A modelled duration as the run applies it (× scale).
    pub fn duration(&self, production: Duration) -> Duration {
        production.mul_f64(self.scale)
    }

    /// A bucket's depth in seconds as the run applies it: `burst_seconds` is a modelled duration
    /// (× scale), so a bucket holds as many calls at any scale as in production (14 emails at
    /// SES's 14/s; at scale 6, 6 s of 14/6 a second). Unscaled, a scaled run's buckets held a
    /// sixth of production's burst and refused sends AWS accepts.
    pub fn burst_seconds_in_force(&self) -> f64 {
        self.burst_seconds * self.scale
    }

    /// Every limit with the value in force and the production value it stands for.
    pub fn rows(&self) -> Vec<LimitRow> {
        let rate = |name: &str, unit: &str, production: f64, source: &str| LimitRow {
            name: name.to_owned(),
            unit: unit.to_owned(),
            value: self.rate(production),
            production,
            source: source.to_owned(),
        };
        let fixed = |name: &str, unit: &str, value: f64, source: &str| LimitRow {
            name: name.to_owned(),
            unit: unit.to_owned(),
            value,
            production: value,
            source: source.to_owned(),
        };
        let mut rows = vec![
            rate(
                "partition_write_units_per_second",
                "WCU/s per partition key",
                self.partition_write_units_per_second,
                "DynamoDB Developer Guide, \"Partitions and data distribution\"; re:Post \"My on-demand Amazon DynamoDB table has throttling\"",
            ),
            rate(
                "partition_read_units_per_second",
                "RCU/s per partition key",
                self.partition_read_units_per_second,
                "same",
            ),
            fixed(
                "write_unit_bytes",
                "bytes per WCU",
                self.write_unit_bytes,
                "DynamoDB Developer Guide, \"Read/write capacity mode\"",
            ),
            fixed("read_unit_bytes", "bytes per RCU", self.read_unit_bytes, "same"),
            fixed(
                "transactional_multiplier",
                "× per transactional item",
                self.transactional_multiplier,
                "\"Amazon DynamoDB Transactions: How it works\", capacity management",
            ),
            LimitRow {
                name: "burst_seconds".to_owned(),
                unit: "s of rate absorbed at once".to_owned(),
                value: self.burst_seconds_in_force(),
                production: self.burst_seconds,
                source: "per-second limits (DynamoDB per partition, SES, SNS)".to_owned(),
            },
            rate(
                "ses_max_send_rate",
                "emails/s per account",
                self.ses_max_send_rate,
                "SES Developer Guide, \"Service quotas in Amazon SES\"; SESv2 GetAccount SendQuota.MaxSendRate",
            ),
            rate(
                "sns_publish_rate",
                "Publish/s per account",
                self.sns_publish_rate,
                "AWS General Reference, \"Amazon SNS endpoints and quotas\" (us-east-1)",
            ),
        ];
        for spec in &self.latencies {
            for (percentile, production) in [("p50", spec.p50_ms), ("p99", spec.p99_ms)] {
                rows.push(LimitRow {
                    name: format!("latency {}.{} {percentile}", spec.service.label(), spec.operation),
                    unit: "ms".to_owned(),
                    value: production * self.scale,
                    production,
                    source: "assumed (see LATENCY_SOURCE)".to_owned(),
                });
            }
        }
        rows
    }
}
