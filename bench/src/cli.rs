//! `bench`'s command line (clap): every option has a default, so `make bench` passes only what
//! differs from them (the venvs, the target directory's binaries, the levers).

use std::path::{Path, PathBuf};

use clap::Parser;

/// bench: the Rust workers side by side with Powertools handlers (Python, TypeScript); writes
/// BENCHMARKS.md.
#[derive(Debug, Clone, Parser)]
#[command(name = "bench", about)]
pub struct Cli {
    /// cargo's target directory: the default of --lambda-dir and --criterion-dir.
    #[arg(long, env = "CARGO_TARGET_DIR", value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// cargo lambda's output, `DIR/<bin>/bootstrap` [default: TARGET_DIR/lambda].
    #[arg(long, value_name = "DIR")]
    pub lambda_dir: Option<PathBuf>,
    /// Python of the venv with Powertools and awslambdaric [default: .venv-bench/bin/python].
    #[arg(long, value_name = "PATH")]
    pub bench_python: Option<PathBuf>,
    /// Python of the venv with moto [default: .venv/bin/python].
    #[arg(long, env = "MOTO_PYTHON", value_name = "PATH")]
    pub moto_python: Option<PathBuf>,
    /// Node.js for the Powertools (TypeScript) contender [default: node on PATH].
    #[arg(long, value_name = "PATH")]
    pub node: Option<PathBuf>,
    /// The TypeScript contender with its node_modules (npm ci) [default: bench/typescript].
    #[arg(long, value_name = "DIR")]
    pub typescript_dir: Option<PathBuf>,
    /// criterion's results [default: TARGET_DIR/criterion].
    #[arg(long, value_name = "DIR")]
    pub criterion_dir: Option<PathBuf>,
    /// The report [default: BENCHMARKS.md].
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Starts of each function.
    #[arg(long, default_value_t = 30, value_parser = at_least_one)]
    pub init_runs: usize,
    /// Batches discarded per scenario and contender.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Batches measured per scenario and contender.
    #[arg(long, default_value_t = 40, value_parser = at_least_one)]
    pub batches: usize,
    /// Batches counted per scenario and contender.
    #[arg(long, default_value_t = 10, value_parser = at_least_one)]
    pub round_trip_batches: usize,
    /// Cold invocations (TLS, CPU share) of each contender.
    #[arg(long, default_value_t = 10, value_parser = at_least_one)]
    pub cold_runs: usize,
    /// Warm batches at Lambda's CPU share discarded per scenario and contender.
    #[arg(long, default_value_t = 3)]
    pub lambda_warmup: usize,
    /// Warm batches at Lambda's CPU share measured per scenario and contender.
    #[arg(long, default_value_t = 20, value_parser = at_least_one)]
    pub lambda_batches: usize,
    /// Also run ticket-processor built otherwise as a lever, e.g. "opt-level 3=DIR/bootstrap"
    /// (split at the last `=`).
    #[arg(long = "lever", value_name = "WHAT=PATH", value_parser = lever)]
    pub levers: Vec<(String, PathBuf)>,
    /// 1 init run, no warm-up, 1 batch each: checks the harness, writes no report.
    #[arg(long)]
    pub smoke: bool,
    /// Profile ticket-processor (the build in --lambda-dir) over warm batches into PERF_DATA
    /// with `perf record`, and stop (`bench/profile-warm-batch` does this with a build that has
    /// symbols).
    #[arg(long, value_name = "PERF_DATA")]
    pub profile: Option<PathBuf>,
    /// Warm batches --profile samples.
    #[arg(long, default_value_t = 200, value_parser = at_least_one)]
    pub profile_batches: usize,
    /// Render the report from a run's results (its bench-logs/results.json) and stop.
    #[arg(long, value_name = "RESULTS_JSON")]
    pub render: Option<PathBuf>,
}

/// The command line with every default resolved.
#[derive(Debug, Clone)]
pub struct Args {
    pub workspace: PathBuf,
    pub lambda_dir: PathBuf,
    pub bench_python: PathBuf,
    pub moto_python: PathBuf,
    pub node: PathBuf,
    pub typescript_dir: PathBuf,
    pub criterion_dir: PathBuf,
    pub output: PathBuf,
    pub cli: Cli,
}

impl Cli {
    /// The defaults resolved against `workspace`; `--smoke` shrinks every count to one run.
    pub fn resolve(mut self, workspace: &Path) -> Args {
        let target = self.target_dir.clone().unwrap_or_else(|| workspace.join("target"));
        if self.smoke {
            (self.init_runs, self.warmup, self.batches, self.round_trip_batches) = (1, 0, 1, 1);
            (self.cold_runs, self.lambda_warmup, self.lambda_batches) = (1, 0, 1);
        }
        Args {
            workspace: workspace.to_owned(),
            lambda_dir: self.lambda_dir.clone().unwrap_or_else(|| target.join("lambda")),
            bench_python: (self.bench_python.clone()).unwrap_or_else(|| workspace.join(".venv-bench/bin/python")),
            moto_python: (self.moto_python.clone()).unwrap_or_else(|| workspace.join(".venv/bin/python")),
            node: self.node.clone().unwrap_or_else(|| on_path("node")),
            typescript_dir: (self.typescript_dir.clone()).unwrap_or_else(|| workspace.join("bench/typescript")),
            criterion_dir: self.criterion_dir.clone().unwrap_or_else(|| target.join("criterion")),
            output: self.output.clone().unwrap_or_else(|| workspace.join("BENCHMARKS.md")),
            cli: self,
        }
    }
}

fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn lever(value: &str) -> Result<(String, PathBuf), String> {
    value
        .rsplit_once('=')
        .filter(|(what, path)| !what.is_empty() && !path.is_empty())
        .map(|(what, path)| (what.to_owned(), PathBuf::from(path)))
        .ok_or_else(|| format!("{value}: expected WHAT=PATH"))
}

/// `program` as the shell finds it on PATH (itself when it is not there: the error names it).
fn on_path(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(program))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied()))
    }

    #[test]
    fn levers_split_at_the_last_equals_sign() {
        let cli = parse(&[
            "--lever",
            "AWS_LC_SYS_NO_JITTER_ENTROPY=1=/t/bootstrap",
            "--lever",
            "opt-level 3=/o/b",
        ])
        .unwrap();
        assert_eq!(
            cli.levers,
            vec![
                (
                    "AWS_LC_SYS_NO_JITTER_ENTROPY=1".to_owned(),
                    PathBuf::from("/t/bootstrap")
                ),
                ("opt-level 3".to_owned(), PathBuf::from("/o/b")),
            ]
        );
        assert!(parse(&["--lever", "no-path"]).is_err());
    }

    #[test]
    fn counts_are_at_least_one_and_smoke_shrinks_them() {
        assert!(parse(&["--batches", "0"]).is_err());
        let args = parse(&["--smoke", "--target-dir", "/t"])
            .unwrap()
            .resolve(Path::new("/w"));
        assert_eq!((args.cli.batches, args.cli.cold_runs, args.cli.warmup), (1, 1, 0));
        assert_eq!(args.lambda_dir, PathBuf::from("/t/lambda"));
        assert_eq!(args.output, PathBuf::from("/w/BENCHMARKS.md"));
    }
}
