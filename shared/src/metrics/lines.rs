//! EMF lines read back from a log (tests, and the local stack's metrics summary): what
//! CloudWatch would extract from them, per function.

use std::collections::BTreeMap;

use serde_json::Value;

/// One metric's data points in one line: (value, how many times).
pub type Points = Vec<(f64, u64)>;

/// One EMF line.
#[derive(Debug, Clone, PartialEq)]
pub struct EmfLine {
    /// The CloudWatch namespace of the line's directive.
    pub namespace: String,
    /// The dimension sets of the line's directive.
    pub dimensions: Vec<Vec<String>>,
    /// The value of the [`super::FUNCTION_NAME`] dimension.
    pub function_name: String,
    /// Every metric the directive declares, with its unit and points.
    pub metrics: BTreeMap<String, (String, Points)>,
    /// The whole line.
    pub json: Value,
}

impl EmfLine {
    /// The EMF line in `line`, or `None` for any other line (a log line, a partial line). Text
    /// before the first `{` (a prefix some log collectors add) is skipped.
    pub fn parse(line: &str) -> Option<EmfLine> {
        let json: Value = serde_json::from_str(&line[line.find('{')?..]).ok()?;
        let directive = json.get("_aws")?.get("CloudWatchMetrics")?.get(0)?;
        let dimensions: Vec<Vec<String>> = serde_json::from_value(directive.get("Dimensions")?.clone()).ok()?;
        let mut metrics = BTreeMap::new();
        for definition in directive.get("Metrics")?.as_array()? {
            let name = definition.get("Name")?.as_str()?.to_owned();
            let unit = definition
                .get("Unit")
                .and_then(Value::as_str)
                .unwrap_or("None")
                .to_owned();
            metrics.insert(name.clone(), (unit, points(json.get(&name)?)?));
        }
        Some(EmfLine {
            namespace: directive.get("Namespace")?.as_str()?.to_owned(),
            function_name: json.get(super::FUNCTION_NAME)?.as_str()?.to_owned(),
            dimensions,
            metrics,
            json,
        })
    }

    /// The EMF lines in a log, in order.
    pub fn parse_all(text: &str) -> Vec<EmfLine> {
        text.lines().filter_map(EmfLine::parse).collect()
    }

    /// The sum of a metric's points (0 when the line has none).
    pub fn sum(&self, name: &str) -> f64 {
        self.metrics
            .get(name)
            .map_or(0.0, |(_, points)| points.iter().map(|(v, n)| v * *n as f64).sum())
    }

    /// How many data points a metric has in this line.
    pub fn samples(&self, name: &str) -> u64 {
        self.metrics
            .get(name)
            .map_or(0, |(_, points)| points.iter().map(|(_, n)| n).sum())
    }

    /// A metric's unit as declared (`Count`, `Milliseconds`, `None` when unset); `None` when the
    /// line does not declare the metric.
    pub fn unit(&self, name: &str) -> Option<&str> {
        self.metrics.get(name).map(|(unit, _)| unit.as_str())
    }
}

/// `3` or `{"Values": [..], "Counts": [..]}`.
fn points(value: &Value) -> Option<Points> {
    if let Some(number) = value.as_f64() {
        return Some(vec![(number, 1)]);
    }
    let values = value.get("Values")?.as_array()?;
    let counts = value.get("Counts")?.as_array()?;
    values
        .iter()
        .zip(counts)
        .map(|(v, c)| Some((v.as_f64()?, c.as_u64()?)))
        .collect()
}

/// Sums over many lines, per function: what CloudWatch's `Sum` and `SampleCount` statistics
/// would show over the whole run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// function → metric → (sum, samples)
    pub functions: BTreeMap<String, BTreeMap<String, (f64, u64)>>,
    /// function → lines (invocations)
    pub lines: BTreeMap<String, u64>,
}

impl Totals {
    /// The totals of `lines`, whatever their order.
    pub fn of<'a>(lines: impl IntoIterator<Item = &'a EmfLine>) -> Self {
        let mut totals = Totals::default();
        for line in lines {
            *totals.lines.entry(line.function_name.clone()).or_default() += 1;
            let metrics = totals.functions.entry(line.function_name.clone()).or_default();
            for name in line.metrics.keys() {
                let (sum, samples) = metrics.entry(name.clone()).or_default();
                *sum += line.sum(name);
                *samples += line.samples(name);
            }
        }
        totals
    }

    /// The sum of `metric` over every line of `function` (0 when never written).
    pub fn sum(&self, function: &str, metric: &str) -> f64 {
        self.get(function, metric).0
    }

    /// The data points of `metric` over every line of `function`.
    pub fn samples(&self, function: &str, metric: &str) -> u64 {
        self.get(function, metric).1
    }

    fn get(&self, function: &str, metric: &str) -> (f64, u64) {
        self.functions
            .get(function)
            .and_then(|metrics| metrics.get(metric))
            .copied()
            .unwrap_or_default()
    }
}
