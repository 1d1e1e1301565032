//! The command line: every parameter of a sale, with the defaults of issue 13.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::sale::Admission;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
pub enum OnOff {
    On,
    Off,
}

/// One event's flash sale through the release binaries, the emulated SQS event sources and the
/// limits model of AWS (docs/limits.md); writes FLASH-SALE.md, its chart, and every figure as
/// JSON. Times are in the model's time (wall time ÷ scale).
#[derive(Debug, Clone, Parser)]
#[command(name = "flash-sale", version)]
pub struct Args {
    /// Seats of the event (2 people a seat by default). Issue 13 asked for 2,000 seats and 10,000
    /// people; this machine's email drain allows 2,000 people at scale 6 (see `--requests`), and
    /// 1,000 seats keep the sale long enough (3.4 s at 4×) for a ticket rate to mean more than
    /// the first tickets' latency: 400 sold out in 1.4 s, where 0.2 s to a ticket cost 13% of the
    /// rate (docs/limits.md, "Choosing the scale").
    #[arg(long, default_value_t = 1_000)]
    pub seats: u64,
    /// Distinct people in the line, one request each. With `--scale`, what this machine keeps
    /// pace with: the emails alone take people × scale ÷ 14 s of wall time (SES's rate), 857 s
    /// for the defaults (docs/limits.md, "Choosing the scale").
    #[arg(long, default_value_t = 2_000)]
    pub requests: usize,
    /// Share of people whose request the producer sends twice (as a new message).
    #[arg(long, default_value_t = 0.05)]
    pub duplicates: f64,
    /// How the waiting room admits people: `burst` (everyone at once), a number of people per
    /// second, or `<k>x`: k times the single-item ceiling of today's ticket-processor (model's time).
    #[arg(long, default_value = "4x")]
    pub admission: String,
    /// A refused person was treated unfairly if someone admitted more than this many seconds
    /// after them got a ticket.
    #[arg(long, default_value_t = 2.0)]
    pub fairness_window: f64,
    /// Slow motion: every rate ÷ scale, every modelled duration × scale (docs/limits.md). 6 by
    /// default: at 4 moto's DynamoDB fell behind the admission (slower than the model in 83% of
    /// calls, time to ticket p99 4.0 s), at 6 it kept pace far better (64%, p99 1.1 s), and a
    /// 128 MB worker's CPU share is exact only up to 7.2 (docs/limits.md, "Choosing the scale").
    #[arg(long, default_value_t = 6.0)]
    pub scale: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// K, the counters the event's seats are spread over (ticket-processor's sharded inventory;
    /// events/seed/README.md: K = ceil(2 × admission rate ÷ one counter's ceiling), 8 for the
    /// default admission of about 290 people a second). Workers built before sharding need 1.
    #[arg(long, default_value_t = 8)]
    pub shards: u32,
    /// Where the workers' release binaries are (`DIR/<binary>/bootstrap`), so other builds of the
    /// workers can be measured [default: $CARGO_TARGET_DIR/lambda].
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Lambda's CPU share for each worker process (MemorySize ÷ 1,769 MB of one CPU, ÷ scale).
    /// `off` runs unthrottled, and the report says so.
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    pub cpu_share: OnOff,
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// The source queues' visibility timeout, seconds [default: the template's × scale].
    #[arg(long)]
    pub visibility_timeout: Option<u32>,
    /// The functions' timeout, seconds [default: the template's × scale].
    #[arg(long)]
    pub function_timeout: Option<u64>,
    /// Stop waiting for the queues to drain after this many seconds of wall time from the sale's
    /// start; what is left is reported as unresolved. The default leaves the default sale's
    /// 857 s of emails (2,000 × 6 ÷ 14) a margin of about 2½ minutes.
    #[arg(long, default_value_t = 1_020)]
    pub time_limit: u64,
    /// The producer keeps at most this many visible messages in ticket-issue-queue (moto's
    /// ReceiveMessage slows down with depth); the rest wait at the producer, admitted.
    #[arg(long, default_value_t = 200)]
    pub queue_depth: u64,
    /// The report [default: FLASH-SALE.md in the workspace].
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The chart [default: docs/flash-sale/flash-sale.svg].
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// The baseline's figures, shown beside this run's [default: docs/flash-sale/baseline.json].
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Make this run the baseline: write its figures to the baseline file.
    #[arg(long)]
    pub save_baseline: bool,
    /// Check the sale's invariants only (no oversell, no double ticket, every request accounted
    /// for) and write no report: what `make test` runs.
    #[arg(long)]
    pub check: bool,
    /// Render the report and the chart from a run's figures (its JSON) instead of running a sale:
    /// the goals are recomputed, so a change to the report needs no new run.
    #[arg(long, value_name = "FIGURES_JSON")]
    pub render: Option<PathBuf>,
    /// The name of this build in the report.
    #[arg(long, default_value = "now")]
    pub label: String,
    /// The worker processes' logs [default: $CARGO_TARGET_DIR/flash-sale/logs].
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
}

/// The `make` command that reproduces a run with `arguments` (the command line after the
/// program's name).
pub fn make_command(arguments: &[String]) -> String {
    let mut rest: Vec<&str> = Vec::new();
    let mut target = "flash-sale";
    let mut i = 0;
    while i < arguments.len() {
        match (arguments[i].as_str(), arguments.get(i + 1).map(String::as_str)) {
            ("--save-baseline", _) => target = "flash-sale-baseline",
            ("--label", Some("baseline")) => i += 1,
            (argument, _) => rest.push(argument),
        }
        i += 1;
    }
    if rest.is_empty() {
        format!("make {target}")
    } else {
        format!("make {target} FLASH_SALE_ARGS=\"{}\"", rest.join(" "))
    }
}

/// Where things are, resolved from the arguments and the environment.
#[derive(Debug, Clone)]
pub struct Paths {
    pub workspace: PathBuf,
    pub bin_dir: PathBuf,
    pub template: PathBuf,
    pub report: PathBuf,
    pub chart: PathBuf,
    pub baseline: PathBuf,
    /// This run's figures as JSON.
    pub figures: PathBuf,
    pub log_dir: PathBuf,
}

impl Args {
    pub fn paths(&self) -> Paths {
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let workspace = workspace.canonicalize().unwrap_or(workspace);
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"));
        let docs = workspace.join("docs/flash-sale");
        Paths {
            bin_dir: self.bin_dir.clone().unwrap_or_else(|| target.join("lambda")),
            template: self.template.clone().unwrap_or_else(|| workspace.join("template.yaml")),
            report: self.report.clone().unwrap_or_else(|| workspace.join("FLASH-SALE.md")),
            chart: self.chart.clone().unwrap_or_else(|| docs.join("flash-sale.svg")),
            baseline: self.baseline.clone().unwrap_or_else(|| docs.join("baseline.json")),
            figures: target.join("flash-sale/figures.json"),
            log_dir: self.log_dir.clone().unwrap_or_else(|| target.join("flash-sale/logs")),
            workspace,
        }
    }

    /// The admission, given the single-item ceiling (people per second, model's time) that `<k>x`
    /// multiplies.
    pub fn admission(&self, ceiling: f64) -> Result<Admission, String> {
        let text = self.admission.trim();
        if text == "burst" {
            return Ok(Admission::Burst);
        }
        let rate = match text.strip_suffix('x') {
            Some(factor) => factor.parse::<f64>().map(|k| k * ceiling),
            None => text.parse::<f64>(),
        }
        .map_err(|e| format!("--admission {text}: {e} (burst, a rate per second, or <k>x)"))?;
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!("--admission {text}: the rate must be positive"));
        }
        Ok(Admission::PerSecond(rate))
    }

    /// What makes the parameters unusable, if anything.
    pub fn check_values(&self) -> Result<(), String> {
        if self.seats == 0 || self.requests == 0 {
            return Err("--seats and --requests must be positive".to_owned());
        }
        if !(0.0..=1.0).contains(&self.duplicates) {
            return Err("--duplicates is a share between 0 and 1".to_owned());
        }
        if !(self.scale >= 1.0 && self.scale.is_finite()) {
            return Err("--scale must be at least 1 (docs/limits.md)".to_owned());
        }
        if self.fairness_window < 0.0 {
            return Err("--fairness-window cannot be negative".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_issues_and_admission_reads_burst_rates_and_multiples() {
        let args = Args::parse_from(["flash-sale"]);
        assert_eq!((args.seats, args.requests, args.duplicates), (1_000, 2_000, 0.05));
        assert_eq!(
            (args.fairness_window, args.scale, args.cpu_share),
            (2.0, 6.0, OnOff::On)
        );
        assert!(args.check_values().is_ok());
        assert_eq!(args.admission(70.0), Ok(Admission::PerSecond(280.0)));
        let burst = Args::parse_from(["flash-sale", "--admission", "burst"]);
        assert_eq!(burst.admission(70.0), Ok(Admission::Burst));
        let rate = Args::parse_from(["flash-sale", "--admission", "50"]);
        assert_eq!(rate.admission(70.0), Ok(Admission::PerSecond(50.0)));
        for bad in ["fast", "0", "-3x"] {
            let args = Args::parse_from(["flash-sale".to_owned(), format!("--admission={bad}")]);
            assert!(args.admission(70.0).is_err(), "{bad}");
        }
        let slow = Args::parse_from(["flash-sale", "--scale", "0.5"]);
        assert!(slow.check_values().is_err());
    }

    #[test]
    fn the_make_command_reproduces_the_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(make_command(&[]), "make flash-sale");
        assert_eq!(
            make_command(&args(&["--save-baseline", "--label", "baseline"])),
            "make flash-sale-baseline"
        );
        assert_eq!(
            make_command(&args(&["--save-baseline", "--label", "baseline", "--seed", "2"])),
            "make flash-sale-baseline FLASH_SALE_ARGS=\"--seed 2\""
        );
        assert_eq!(
            make_command(&args(&["--bin-dir", "/x"])),
            "make flash-sale FLASH_SALE_ARGS=\"--bin-dir /x\""
        );
    }
}
