//! Modelled service latency: per operation, a log-normal distribution fitted to a median and a
//! 99th percentile (latencies are positive and right-skewed; two percentiles fix a log-normal).
//! `ln X ~ N(μ, σ²)` with `μ = ln p50` and `σ = (ln p99 − ln p50) / z₀.₉₉`.

use std::time::Duration;

use crate::call::Service;
use crate::limits::params::LatencySpec;
use crate::rng::Rng;

/// The standard normal's 99th percentile.
const Z99: f64 = 2.326_347_874;

/// A log-normal latency distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogNormal {
    mu: f64,
    sigma: f64,
}

impl LogNormal {
    /// The distribution whose median is `p50` and 99th percentile `p99` (same unit).
    pub fn from_percentiles(p50: f64, p99: f64) -> Self {
        let p99 = p99.max(p50);
        Self {
            mu: p50.ln(),
            sigma: (p99.ln() - p50.ln()) / Z99,
        }
    }

    /// The value below which `p` (0..1) of draws fall.
    pub fn percentile(&self, p: f64) -> f64 {
        (self.mu + self.sigma * inverse_normal(p)).exp()
    }

    pub fn mean(&self) -> f64 {
        (self.mu + self.sigma * self.sigma / 2.0).exp()
    }

    /// One draw (Box–Muller on two uniform draws).
    pub fn draw(&self, rng: &mut Rng) -> f64 {
        let u1 = rng.unit().max(f64::MIN_POSITIVE);
        let u2 = rng.unit();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (self.mu + self.sigma * z).exp()
    }
}

/// The standard normal's quantile function (Acklam's rational approximation, relative error
/// below 1.2e-9): enough to state a distribution's percentiles in a report.
fn inverse_normal(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The latency of every operation, already multiplied by the run's scale.
#[derive(Debug, Clone)]
pub struct LatencyTable {
    rows: Vec<(Service, String, LogNormal)>,
    /// For operations of a service without a `*` row.
    fallback: LogNormal,
}

impl LatencyTable {
    pub fn new(specs: &[LatencySpec], scale: f64) -> Self {
        Self {
            rows: specs
                .iter()
                .map(|s| {
                    (
                        s.service,
                        s.operation.clone(),
                        LogNormal::from_percentiles(s.p50_ms * scale, s.p99_ms * scale),
                    )
                })
                .collect(),
            fallback: LogNormal::from_percentiles(5.0 * scale, 20.0 * scale),
        }
    }

    /// The distribution (in ms) of `operation`: its own row, else its service's `*` row.
    pub fn of(&self, service: Service, operation: &str) -> LogNormal {
        let find = |operation: &str| {
            self.rows
                .iter()
                .find(|(s, o, _)| *s == service && o == operation)
                .map(|(_, _, d)| *d)
        };
        find(operation).or_else(|| find("*")).unwrap_or(self.fallback)
    }

    pub fn draw(&self, service: Service, operation: &str, rng: &mut Rng) -> Duration {
        Duration::from_secs_f64(self.of(service, operation).draw(rng) / 1_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_have_the_documented_median_and_99th_percentile() {
        let distribution = LogNormal::from_percentiles(12.0, 40.0);
        assert!((distribution.percentile(0.5) - 12.0).abs() < 1e-6);
        assert!((distribution.percentile(0.99) - 40.0).abs() < 1e-4);
        let mut rng = Rng::new(3);
        let mut draws: Vec<f64> = (0..20_000).map(|_| distribution.draw(&mut rng)).collect();
        draws.sort_by(f64::total_cmp);
        let p50 = draws[10_000];
        let p99 = draws[19_800];
        assert!((p50 - 12.0).abs() < 0.5, "p50 {p50}");
        assert!((p99 - 40.0).abs() < 3.0, "p99 {p99}");
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!(
            (mean - distribution.mean()).abs() < 0.3,
            "mean {mean} vs {}",
            distribution.mean()
        );
    }

    #[test]
    fn an_operation_without_a_row_takes_its_services_and_the_scale_stretches_every_row() {
        let specs = crate::limits::params::default_latencies();
        let table = LatencyTable::new(&specs, 1.0);
        assert!((table.of(Service::DynamoDb, "TransactWriteItems").percentile(0.5) - 12.0).abs() < 1e-6);
        assert!((table.of(Service::DynamoDb, "Query").percentile(0.5) - 6.0).abs() < 1e-6);
        assert!((table.of(Service::Other, "x").percentile(0.5) - 5.0).abs() < 1e-6);
        let slow = LatencyTable::new(&specs, 4.0);
        assert!((slow.of(Service::Ses, "SendEmail").percentile(0.99) - 1_000.0).abs() < 1e-3);
    }
}
