//! FLASH-SALE.md from the run's figures, and the baseline's beside them, through a minijinja
//! template (`templates/FLASH-SALE.md.j2`).

use minijinja::{Environment, context};

use crate::figures::Figures;

const TEMPLATE: &str = include_str!("../templates/FLASH-SALE.md.j2");

/// The report; `chart` is the chart's path relative to the report; `saved_as_baseline` when this
/// run is kept as the baseline.
pub fn render(
    now: &Figures,
    baseline: Option<&Figures>,
    chart: &str,
    saved_as_baseline: bool,
) -> Result<String, String> {
    let mut environment = Environment::new();
    environment.set_trim_blocks(true);
    environment.set_lstrip_blocks(true);
    environment
        .add_template("FLASH-SALE.md", TEMPLATE)
        .map_err(|e| format!("the report's template: {e}"))?;
    // Through JSON, so the baseline read from its file and this run look alike to the template
    // (map keys as strings).
    let json = |figures: &Figures| serde_json::to_value(figures).map_err(|e| format!("figures as JSON: {e}"));
    let now = json(now)?;
    let baseline = baseline.map(json).transpose()?;
    let rendered = environment
        .get_template("FLASH-SALE.md")
        .and_then(|template| {
            template.render(
                context! { now => now, baseline => baseline, chart => chart, saved_as_baseline => saved_as_baseline },
            )
        })
        .map_err(|e| format!("rendering the report: {e:#}"))?;
    Ok(rendered.trim_end().to_owned() + "\n")
}

/// A run's figures from their JSON (the baseline's, or a run's to render again), if the file
/// exists.
pub fn read_baseline(path: &std::path::Path) -> Result<Option<Figures>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}
