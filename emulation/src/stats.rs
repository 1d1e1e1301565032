//! Summaries of repeated measurements: median, percentiles (nearest rank), mean, min, max.

/// A summary of samples, in the samples' unit.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub count: usize,
    pub median: f64,
    pub p95: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    /// `None` for no samples (or any non-finite one): a figure without data is not reported as 0.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|s| !s.is_finite()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Summary {
            count: sorted.len(),
            median: median_of_sorted(&sorted),
            p95: percentile_of_sorted(&sorted, 95.0),
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        })
    }
}

/// The middle sample, or the mean of the two middle ones.
fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Nearest-rank percentile: the smallest sample with at least `p`% of samples at or below it.
/// Never interpolates, so a p95 is always a latency that was actually observed.
pub fn percentile_of_sorted(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `numerator / denominator`, `None` when the denominator is not positive.
pub fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0 && numerator.is_finite()).then(|| numerator / denominator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_and_even_counts_have_the_usual_median() {
        assert_eq!(Summary::of(&[3.0, 1.0, 2.0]).unwrap().median, 2.0);
        assert_eq!(Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap().median, 2.5);
    }

    #[test]
    fn p95_is_a_sample_by_nearest_rank() {
        let samples: Vec<f64> = (1..=20).map(f64::from).collect();
        // 95% of 20 is 19: the 19th smallest.
        assert_eq!(Summary::of(&samples).unwrap().p95, 19.0);
        let samples: Vec<f64> = (1..=30).map(f64::from).collect();
        // 28.5 rounds up to rank 29.
        assert_eq!(Summary::of(&samples).unwrap().p95, 29.0);
        assert_eq!(Summary::of(&[7.0]).unwrap().p95, 7.0);
    }

    #[test]
    fn mean_min_max_and_count() {
        let summary = Summary::of(&[2.0, 4.0, 9.0]).unwrap();
        assert_eq!(
            (summary.count, summary.mean, summary.min, summary.max),
            (3, 5.0, 2.0, 9.0)
        );
    }

    #[test]
    fn no_samples_or_a_bad_one_is_no_summary() {
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn ratios_need_a_positive_denominator() {
        assert_eq!(ratio(10.0, 4.0), Some(2.5));
        assert_eq!(ratio(1.0, 0.0), None);
    }
}
