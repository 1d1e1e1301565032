//! docs/limits.md states every limit's default as the code has it: each row of the limits table
//! and of the latency table is checked against `Limits::default()`.

use emulation::limits::params::Limits;

fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

#[test]
fn every_limit_and_latency_in_the_code_is_in_the_document_with_its_default() {
    let document = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/limits.md")).unwrap();
    let limits = Limits::default();
    let mut missing = Vec::new();
    for row in limits.rows().iter().filter(|row| !row.name.starts_with("latency ")) {
        let line = format!("| {} | {} | {} |", row.name, number(row.production), row.unit);
        if !document.contains(&line) {
            missing.push(line);
        }
    }
    for spec in &limits.latencies {
        let line = format!(
            "| {}.{} | {} | {} |",
            spec.service.label(),
            spec.operation,
            number(spec.p50_ms),
            number(spec.p99_ms)
        );
        if !document.contains(&line) {
            missing.push(line);
        }
    }
    assert!(
        missing.is_empty(),
        "docs/limits.md lacks (or has other values for):\n{}",
        missing.join("\n")
    );
    assert_eq!(limits.scale, 1.0);
    assert!(document.contains("`scale` (≥ 1, default 1)"));
}
