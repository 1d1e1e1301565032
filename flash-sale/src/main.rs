//! `flash-sale`: one sale with the parameters on the command line (`flash-sale --help`); writes
//! FLASH-SALE.md, its chart and the figures as JSON (the path is printed), or with `--check`
//! only checks the sale's invariants. Exit code 1 when an invariant breaks, 2 when the sale could
//! not run, 130 when interrupted (the worker processes are stopped and their cgroups removed).

use std::process::ExitCode;

use clap::Parser;
use flash_sale::params::Args;
use flash_sale::{chart, check, report, run};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(message) = args.check_values() {
        eprintln!("flash-sale: {message}");
        return ExitCode::from(2);
    }
    tokio::select! {
        code = sale(&args) => code,
        _ = interrupted() => {
            eprintln!("flash-sale: interrupted; stopping the workers and removing their cgroups");
            ExitCode::from(130)
        }
    }
}

async fn interrupted() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

async fn sale(args: &Args) -> ExitCode {
    let paths = args.paths();
    let figures = match &args.render {
        Some(path) => report::read_baseline(path).and_then(|figures| {
            let mut figures = figures.ok_or_else(|| format!("{}: no such file", path.display()))?;
            figures.goals = flash_sale::goals::goals(&figures);
            Ok(figures)
        }),
        None => run::run(args, &paths).await,
    };
    let figures = match figures {
        Ok(figures) => figures,
        Err(error) => {
            eprintln!("flash-sale: {error}");
            return ExitCode::from(2);
        }
    };
    let invariants = check::invariants(&figures, args.check);
    if !figures.drained {
        println!(
            "NOTE the sale did not drain within the time limit: {} people unresolved, {} people without an email",
            figures.outcomes.unresolved, figures.sends.missing_emails
        );
    }
    for (name, broken) in &invariants {
        match broken {
            None => println!("PASS {name}"),
            Some(what) => println!("FAIL {name}: {what}"),
        }
    }
    if !args.check
        && let Err(error) = write(args, &paths, &figures)
    {
        eprintln!("flash-sale: {error}");
        return ExitCode::from(2);
    }
    if invariants.iter().any(|(_, broken)| broken.is_some()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The JSON, the chart, the report (and the baseline when asked).
fn write(args: &Args, paths: &flash_sale::params::Paths, figures: &flash_sale::figures::Figures) -> Result<(), String> {
    let json = serde_json::to_string_pretty(figures).map_err(|e| format!("figures as JSON: {e}"))?;
    let save = |path: &std::path::Path, text: &str| {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    save(&paths.figures, &json)?;
    if args.save_baseline {
        save(&paths.baseline, &(json.clone() + "\n"))?;
    }
    let baseline = if args.save_baseline {
        None
    } else {
        report::read_baseline(&paths.baseline)?
    };
    chart::draw(figures, baseline.as_ref(), &paths.chart)?;
    let report_dir = paths.report.parent().unwrap_or(std::path::Path::new("."));
    let chart = pathdiff(&paths.chart, report_dir);
    save(
        &paths.report,
        &report::render(figures, baseline.as_ref(), &chart, args.save_baseline)?,
    )?;
    println!("report: {}", paths.report.display());
    println!("chart: {}", paths.chart.display());
    println!("figures (JSON): {}", paths.figures.display());
    if args.save_baseline {
        println!("baseline (JSON): {}", paths.baseline.display());
    }
    Ok(())
}

/// `path` relative to `base` when it is inside it, else as it is.
fn pathdiff(path: &std::path::Path, base: &std::path::Path) -> String {
    path.strip_prefix(base).unwrap_or(path).display().to_string()
}
