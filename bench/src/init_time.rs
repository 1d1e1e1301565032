//! Init: from exec to the process's first `GET /2018-06-01/runtime/invocation/next`, each
//! function started afresh against its own Runtime API stub, the functions taking turns so
//! that machine noise spreads over all of them.

use std::path::Path;

use crate::error::BenchError;
use crate::function_process::{FunctionProcess, FunctionSpec};
use emulation::stats::Summary;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct InitResult {
    pub label: String,
    /// Milliseconds, one sample per start.
    pub init_ms: Summary,
    /// Peak RSS at the end of init (no invocation yet), KiB: median over the starts.
    pub rss_after_init_kib: u64,
}

/// Start each of `specs` `runs` times (in turns), with AWS calls going to `endpoint`.
pub async fn measure(
    specs: &[FunctionSpec],
    runs: usize,
    endpoint: &str,
    log_dir: &Path,
) -> Result<Vec<InitResult>, BenchError> {
    let mut init_ms = vec![Vec::with_capacity(runs); specs.len()];
    let mut rss = vec![Vec::with_capacity(runs); specs.len()];
    for _ in 0..runs {
        for (index, spec) in specs.iter().enumerate() {
            let log = log_dir.join(format!("init-{}.log", spec.label));
            let process = FunctionProcess::start(spec, endpoint, &log).await?;
            init_ms[index].push(process.init.as_secs_f64() * 1e3);
            rss[index].push(process.peak_rss_kib()?);
            process.stop().await;
        }
    }
    specs
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let mut kib = rss[index].clone();
            kib.sort_unstable();
            Ok(InitResult {
                label: spec.label.clone(),
                init_ms: Summary::of(&init_ms[index])
                    .ok_or_else(|| BenchError::check(&spec.label, "no init samples"))?,
                rss_after_init_kib: kib.get(kib.len() / 2).copied().unwrap_or_default(),
            })
        })
        .collect()
}
