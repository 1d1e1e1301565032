//! The functions' metrics as CloudWatch would extract them: the EMF lines in the function logs
//! (`<state dir>/logs/<binary>.log`, one line per invocation), summed per function.

use std::collections::BTreeMap;
use std::path::Path;

use shared::metrics::lines::{EmfLine, Totals};

/// Every function log in `logs_dir`: binary → its EMF lines, in order.
pub fn read_logs(logs_dir: &Path) -> Result<BTreeMap<String, Vec<EmfLine>>, String> {
    let entries = std::fs::read_dir(logs_dir).map_err(|e| format!("{}: {e}", logs_dir.display()))?;
    let mut logs = BTreeMap::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_none_or(|ext| ext != "log") {
            continue;
        }
        let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let binary = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        logs.insert(binary, EmfLine::parse_all(&String::from_utf8_lossy(&text)));
    }
    Ok(logs)
}

/// The sums of one function's lines, whatever its `FunctionName` (locally, `cargo lambda watch`
/// names it after the binary; on AWS the template names it `<stack>-<binary>`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunctionTotals {
    pub invocations: u64,
    /// metric → (sum, data points)
    pub metrics: BTreeMap<String, (f64, u64)>,
}

impl FunctionTotals {
    pub fn of(lines: &[EmfLine]) -> Self {
        let totals = Totals::of(lines);
        let mut merged = FunctionTotals::default();
        for (function, metrics) in totals.functions {
            merged.invocations += totals.lines.get(&function).copied().unwrap_or(0);
            for (name, (sum, samples)) in metrics {
                let entry = merged.metrics.entry(name).or_default();
                entry.0 += sum;
                entry.1 += samples;
            }
        }
        merged
    }

    /// The sum of a metric (0 when never written), as a whole number: counts are.
    pub fn count(&self, metric: &str) -> u64 {
        self.metrics.get(metric).map_or(0, |(sum, _)| sum.round() as u64)
    }

    /// How many data points a metric has (for timings: how many observations).
    pub fn samples(&self, metric: &str) -> u64 {
        self.metrics.get(metric).map_or(0, |(_, samples)| *samples)
    }
}

/// A table of every function's totals: counts summed, timings as data points and average.
pub fn summary(logs: &BTreeMap<String, Vec<EmfLine>>) -> String {
    let mut out = String::new();
    for (binary, lines) in logs {
        let totals = FunctionTotals::of(lines);
        out.push_str(&format!("{binary}: {} invocations\n", totals.invocations));
        let units: BTreeMap<&str, &str> = lines
            .iter()
            .flat_map(|line| {
                line.metrics
                    .iter()
                    .map(|(name, (unit, _))| (name.as_str(), unit.as_str()))
            })
            .collect();
        for (name, (sum, samples)) in &totals.metrics {
            match units.get(name.as_str()) {
                Some(&"Milliseconds") if *samples > 0 => out.push_str(&format!(
                    "  {name:<22} {samples:>6} values, average {:.0} ms\n",
                    sum / *samples as f64
                )),
                Some(&"Milliseconds") => out.push_str(&format!("  {name:<22} {samples:>6} values\n")),
                _ => out.push_str(&format!("  {name:<22} {:>6}\n", sum.round() as u64)),
            }
        }
    }
    if out.is_empty() {
        out.push_str("no metrics yet (no function log holds an EMF line)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_summed_per_log_and_timings_averaged() {
        let dir = std::env::temp_dir().join(moto_harness::unique_name("metrics-logs"));
        std::fs::create_dir_all(&dir).unwrap();
        let line = |records: u64, ms: &str| {
            format!(
                r#"{{"_aws":{{"CloudWatchMetrics":[{{"Namespace":"N","Dimensions":[["FunctionName"]],"Metrics":[{{"Name":"Records","Unit":"Count"}},{{"Name":"TimeToTicket","Unit":"Milliseconds"}}]}}],"Timestamp":1}},"Records":{records},"TimeToTicket":{ms},"FunctionName":"ticket-processor"}}"#
            )
        };
        let log = [
            r#"{"level":"INFO","message":"batch processed"}"#.to_owned(),
            line(3, r#"{"Values":[10,30],"Counts":[1,1]}"#),
            line(2, "20"),
        ]
        .join("\n");
        std::fs::write(dir.join("ticket-processor.log"), log).unwrap();
        std::fs::write(dir.join("notes.txt"), line(100, "1")).unwrap();

        let logs = read_logs(&dir).unwrap();
        assert_eq!(logs.keys().collect::<Vec<_>>(), ["ticket-processor"]);
        let totals = FunctionTotals::of(&logs["ticket-processor"]);
        assert_eq!(totals.invocations, 2);
        assert_eq!(totals.count("Records"), 5);
        assert_eq!(totals.samples("TimeToTicket"), 3);
        let table = summary(&logs);
        assert!(table.contains("ticket-processor: 2 invocations"), "{table}");
        assert!(table.contains("3 values, average 20 ms"), "{table}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
