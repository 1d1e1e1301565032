//! Results of the criterion micro-benchmark (`benches/batch_overhead.rs`), read from the
//! estimates criterion writes under `<target>/criterion/<group>/<function>/new/estimates.json`.

use std::path::Path;

use serde_json::Value;

/// The criterion group of `benches/batch_overhead.rs`.
pub const GROUP: &str = "batch_of_10";

/// One benchmark function: nanoseconds per batch (criterion's median and its 95% interval).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MicroResult {
    pub function: String,
    pub median_ns: f64,
    pub lower_ns: f64,
    pub upper_ns: f64,
}

/// Every function of [`GROUP`] found under `criterion_dir`, by name; none when the
/// micro-benchmark has not run.
pub fn read(criterion_dir: &Path) -> Vec<MicroResult> {
    let group = criterion_dir.join(GROUP);
    let Ok(entries) = std::fs::read_dir(&group) else {
        return Vec::new();
    };
    let mut results: Vec<MicroResult> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let text = std::fs::read_to_string(entry.path().join("new/estimates.json")).ok()?;
            parse(&entry.file_name().to_string_lossy(), &text)
        })
        .collect();
    results.sort_by(|a, b| a.function.cmp(&b.function));
    results
}

fn parse(function: &str, estimates: &str) -> Option<MicroResult> {
    let estimates: Value = serde_json::from_str(estimates).ok()?;
    let median = estimates.get("median")?;
    Some(MicroResult {
        function: function.to_owned(),
        median_ns: median.get("point_estimate")?.as_f64()?,
        lower_ns: median.pointer("/confidence_interval/lower_bound")?.as_f64()?,
        upper_ns: median.pointer("/confidence_interval/upper_bound")?.as_f64()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criterion_estimates_are_read_from_the_median() {
        let text = r#"{"mean":{"point_estimate":9.0},"median":{"confidence_interval":
            {"confidence_level":0.95,"lower_bound":1900.0,"upper_bound":2100.0},"point_estimate":2000.0,
            "standard_error":5.0}}"#;
        assert_eq!(
            parse("fresh", text),
            Some(MicroResult {
                function: "fresh".into(),
                median_ns: 2000.0,
                lower_ns: 1900.0,
                upper_ns: 2100.0
            })
        );
        assert_eq!(parse("fresh", "{}"), None);
    }

    #[test]
    fn a_group_directory_is_read_and_a_missing_one_is_empty() {
        let dir = std::env::temp_dir().join(format!("bench-micro-{}", uuid::Uuid::new_v4()));
        let estimates = dir.join(GROUP).join("duplicate/new");
        std::fs::create_dir_all(&estimates).unwrap();
        std::fs::write(
            estimates.join("estimates.json"),
            r#"{"median":{"point_estimate":5.0,"confidence_interval":{"lower_bound":4.0,"upper_bound":6.0}}}"#,
        )
        .unwrap();
        let results = read(&dir);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].function, "duplicate");
        assert!(read(&dir.join("nowhere")).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
