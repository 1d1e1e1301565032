//! The committed baseline still reads as this version's figures, and renders: alone (as the
//! baseline), beside a later run (the baseline column), and as a chart. A change to the figures
//! that the baseline cannot follow fails here first.

use flash_sale::figures::Figures;
use flash_sale::{chart, report};

fn baseline() -> Figures {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/flash-sale/baseline.json");
    report::read_baseline(std::path::Path::new(path))
        .expect("the baseline reads as this version's figures")
        .expect("docs/flash-sale/baseline.json is committed")
}

#[test]
fn the_baseline_renders_alone_and_beside_a_later_run() {
    let baseline = baseline();
    let alone = report::render(&baseline, None, "docs/flash-sale/flash-sale.svg", true).unwrap();
    assert!(alone.contains("This run is the **baseline**"), "{alone:.400}");
    assert!(alone.contains("## Goals (issues 19 and 20)"));
    for goal in &baseline.goals {
        assert!(
            alone.contains(&goal.measured),
            "the goal {:?} is in the report",
            goal.goal
        );
    }
    assert!(alone.contains("![tickets per second, queue depth, time to ticket](docs/flash-sale/flash-sale.svg)"));

    let mut later = baseline.clone();
    later.label = "later".into();
    later.time_to_ticket.p99 = 1.25;
    let beside = report::render(&later, Some(&baseline), "chart.svg", false).unwrap();
    assert!(
        beside.contains("| Issue | Goal | Target | Baseline | later | Met |"),
        "{beside:.1200}"
    );
    assert!(beside.contains("| | Baseline | later |"));
    let row = beside
        .lines()
        .find(|l| l.starts_with("| time to ticket p50"))
        .expect("the time-to-ticket row");
    assert_eq!(row.matches(" | ").count(), 3, "a label and two columns: {row}");
    assert!(row.contains("/ 1.25 /"), "the later run's p99 in its column: {row}");
    let no_baseline = report::render(&later, None, "chart.svg", false).unwrap();
    assert!(no_baseline.contains("No\nbaseline figures were found"));
}

#[test]
fn the_chart_of_a_run_and_its_baseline_is_an_svg() {
    let baseline = baseline();
    let path = std::env::temp_dir().join(format!("flash-sale-chart-{}.svg", std::process::id()));
    chart::draw(&baseline, Some(&baseline), &path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(svg.starts_with("<svg"));
    for caption in [
        "tickets per second",
        "Queue depth",
        "Time to ticket",
        "baseline: tickets accepted",
    ] {
        assert!(svg.contains(caption), "{caption}");
    }
}

#[test]
fn the_invariants_hold_on_the_baseline_and_break_on_an_oversell_or_a_lost_request() {
    let baseline = baseline();
    let broken = |figures: &Figures, must_drain: bool| -> Vec<&'static str> {
        flash_sale::check::invariants(figures, must_drain)
            .into_iter()
            .filter(|(_, broken)| broken.is_some())
            .map(|(name, _)| name)
            .collect()
    };
    assert!(broken(&baseline, false).is_empty(), "{:?}", broken(&baseline, false));
    if !baseline.drained {
        assert_eq!(broken(&baseline, true), ["the sale drained before the time limit"]);
    }
    let mut oversold = baseline.clone();
    oversold.outcomes.oversold = 1;
    assert_eq!(broken(&oversold, false), ["no oversell"]);
    let mut lost = baseline.clone();
    lost.drained = true;
    lost.outcomes.unresolved += 1;
    assert!(
        broken(&lost, false)
            .iter()
            .any(|name| name.starts_with("every request accounted for"))
    );
    // Seats left with nobody queued and nobody dead-lettered: a seat was lost. (Seats left while
    // requests are still queued at the time limit are the baseline's: they would take them.)
    let mut unsold = baseline.clone();
    unsold.drained = true;
    unsold.outcomes.unresolved = 0;
    unsold.outcomes.dead_lettered = 0;
    unsold.outcomes.sold_out += baseline.outcomes.unresolved;
    unsold.outcomes.tickets = (baseline.parameters.seats - 1) as usize;
    assert!(
        broken(&unsold, false)
            .iter()
            .any(|name| name.starts_with("the event sold out"))
    );
}
