//! The report's chart (SVG, drawn with plotters): tickets per second against the model's
//! ceiling and the admission rate; the depth of the queues (what waits at the producer and in
//! SQS, and what is in flight); and the time-to-ticket distribution.

use std::path::Path;

use plotters::prelude::*;

use crate::figures::Figures;

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// The chart of `figures`, with the baseline's tickets per second beside them when given.
pub fn draw(figures: &Figures, baseline: Option<&Figures>, path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let root = SVGBackend::new(path, (1000, 1150)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((3, 1));
    tickets_per_second(figures, baseline, &panels[0]).map_err(|e| format!("tickets per second: {e}"))?;
    queue_depth(figures, &panels[1]).map_err(|e| format!("queue depth: {e}"))?;
    time_to_ticket(figures, &panels[2]).map_err(|e| format!("time to ticket: {e}"))?;
    root.present().map_err(|e| format!("{}: {e}", path.display()))
}

type Drawn = Result<(), Box<dyn std::error::Error>>;
type SampleValue = Box<dyn Fn(&crate::figures::Sample) -> f64>;

fn legend(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
}

fn tickets_per_second(f: &Figures, baseline: Option<&Figures>, area: &Area<'_>) -> Drawn {
    let t = &f.throughput;
    let seconds = t
        .per_second
        .len()
        .max(baseline.map_or(0, |b| b.throughput.per_second.len()))
        .max(1) as f64;
    let top = [
        t.peak,
        t.ceiling,
        f.parameters.admission_rate.unwrap_or(0.0),
        baseline.map_or(0.0, |b| b.throughput.peak),
    ]
    .into_iter()
    .filter(|v| v.is_finite())
    .fold(1.0, f64::max)
        * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "{}: tickets per second (model's time) against the single-item ceiling",
                f.label
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(48)
        .build_cartesian_2d(0f64..seconds, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("seconds since the sale opened")
        .y_desc("tickets/s")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    let series = |t: &crate::figures::Throughput| -> Vec<(f64, f64)> {
        t.per_second
            .iter()
            .enumerate()
            .map(|(s, n)| (s as f64, *n as f64))
            .collect()
    };
    if let Some(baseline) = baseline {
        let gray = RGBColor(150, 150, 150);
        chart
            .draw_series(LineSeries::new(series(&baseline.throughput), gray.stroke_width(2)))?
            .label("baseline: tickets accepted per second")
            .legend(legend(gray));
    }
    chart
        .draw_series(LineSeries::new(series(t), BLUE.stroke_width(2)))?
        .label(format!("{}: tickets accepted per second", f.label))
        .legend(legend(BLUE));
    if t.ceiling > 0.0 {
        chart
            .draw_series(LineSeries::new(
                [(0.0, t.ceiling), (seconds, t.ceiling)],
                RED.stroke_width(2),
            ))?
            .label(format!("ceiling for one item: {:.0}/s", t.ceiling))
            .legend(legend(RED));
    }
    if let Some(rate) = f.parameters.admission_rate {
        let admitting = f.parameters.requests as f64 / rate;
        chart
            .draw_series(LineSeries::new(
                [(0.0, rate), (admitting.min(seconds), rate)],
                GREEN.stroke_width(2),
            ))?
            .label(format!("admissions: {rate:.0}/s"))
            .legend(legend(GREEN));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn queue_depth(f: &Figures, area: &Area<'_>) -> Drawn {
    let end = f.timeline.last().map_or(1.0, |s| s.t.max(1.0));
    let waiting = |s: &crate::figures::Sample| (s.waiting_at_producer as u64 + s.ticket_queue_visible) as f64;
    let top = f
        .timeline
        .iter()
        .flat_map(|s| {
            [
                waiting(s),
                s.ticket_queue_in_flight as f64,
                s.notification_queue_visible as f64,
                s.notification_queue_in_flight as f64,
            ]
        })
        .fold(1.0, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Queue depth (requests waiting at the producer count as queued)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(58)
        .build_cartesian_2d(0f64..end, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("seconds since the sale opened")
        .y_desc("messages")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    let lines: [(&str, RGBColor, SampleValue); 4] = [
        ("ticket requests waiting", BLUE, Box::new(waiting)),
        (
            "ticket requests in flight (or waiting out a visibility timeout)",
            CYAN,
            Box::new(|s| s.ticket_queue_in_flight as f64),
        ),
        (
            "notifications waiting",
            MAGENTA,
            Box::new(|s| s.notification_queue_visible as f64),
        ),
        (
            "notifications in flight (or waiting out a visibility timeout)",
            RED,
            Box::new(|s| s.notification_queue_in_flight as f64),
        ),
    ];
    for (label, color, value) in lines {
        chart
            .draw_series(LineSeries::new(
                f.timeline.iter().map(|s| (s.t, value(s))),
                color.stroke_width(2),
            ))?
            .label(label)
            .legend(legend(color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn time_to_ticket(f: &Figures, area: &Area<'_>) -> Drawn {
    let samples = &f.time_to_ticket_samples;
    let max = samples.iter().copied().fold(1.0, f64::max);
    const BINS: usize = 60;
    let width = max / BINS as f64;
    let mut counts = [0u64; BINS];
    for s in samples {
        counts[((s / width) as usize).min(BINS - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    let p = &f.time_to_ticket;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "Time to ticket (admission → ticket write accepted): p50 {:.1} s, p99 {:.1} s, max {:.1} s",
                p.p50, p.p99, p.max
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(58)
        .build_cartesian_2d(0f64..max * 1.02, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("people")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    chart.draw_series(counts.iter().enumerate().map(|(i, n)| {
        let x = i as f64 * width;
        Rectangle::new([(x, 0.0), (x + width, *n as f64)], BLUE.mix(0.7).filled())
    }))?;
    Ok(())
}
