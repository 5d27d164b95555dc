//! Choosing the next object: uniform, or Zipf by a precomputed CDF.
//!
//! Zipf with exponent `s` over `n` objects gives rank `k` (1-based; object index
//! `k - 1`) the probability `k^-s / H(n, s)`. The cumulative sums are computed once;
//! a draw is one uniform number and a binary search, so the cost does not depend
//! on `s` and the sequence is fixed by the RNG's seed.

use rand::Rng;

/// Picks object indexes `0..n`.
#[derive(Debug, Clone)]
pub enum Picker {
    /// Every index equally likely.
    Uniform(usize),
    /// Cumulative probabilities of the indexes (the last is 1).
    Cdf(Vec<f64>),
}

impl Picker {
    /// Uniform over `n >= 1` objects.
    pub fn uniform(n: usize) -> Self {
        assert!(n > 0, "no objects");
        Picker::Uniform(n)
    }

    /// Zipf with exponent `s` over `n >= 1` objects, index 0 the most popular.
    pub fn zipf(n: usize, s: f64) -> Self {
        assert!(n > 0, "no objects");
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for k in 1..=n {
            sum += (k as f64).powf(-s);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        // Rounding must never leave a draw past the end.
        if let Some(last) = cdf.last_mut() {
            *last = 1.0;
        }
        Picker::Cdf(cdf)
    }

    /// The next object index.
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        match self {
            Picker::Uniform(n) => rng.gen_range(0..*n),
            Picker::Cdf(cdf) => {
                let u: f64 = rng.gen();
                cdf.partition_point(|&c| c <= u).min(cdf.len() - 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn counts(p: &Picker, n: usize, draws: usize, seed: u64) -> Vec<usize> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut c = vec![0; n];
        for _ in 0..draws {
            c[p.pick(&mut rng)] += 1;
        }
        c
    }

    #[test]
    fn zipf_one_halves_from_rank_one_to_two() {
        let c = counts(&Picker::zipf(1000, 1.0), 1000, 400_000, 42);
        let ratio = c[0] as f64 / c[1] as f64;
        assert!((1.8..2.2).contains(&ratio), "P(1)/P(2) = {ratio}");
        let ratio3 = c[0] as f64 / c[2] as f64;
        assert!((2.7..3.3).contains(&ratio3), "P(1)/P(3) = {ratio3}");
        // H(1000) ≈ 7.485: rank 1 draws about 13.4 %.
        let p1 = c[0] as f64 / 400_000.0;
        assert!((0.125..0.142).contains(&p1), "P(1) = {p1}");
    }

    #[test]
    fn zipf_zero_is_uniform_and_every_index_is_reachable() {
        let c = counts(&Picker::zipf(10, 0.0), 10, 100_000, 3);
        for (i, &n) in c.iter().enumerate() {
            assert!((9_000..11_000).contains(&n), "index {i}: {n}");
        }
    }

    #[test]
    fn uniform_covers_all() {
        let c = counts(&Picker::uniform(4), 4, 40_000, 9);
        assert!(c.iter().all(|&n| (9_000..11_000).contains(&n)), "{c:?}");
    }

    #[test]
    fn one_object_and_seeded_repeatability() {
        let p = Picker::zipf(1, 1.0);
        assert_eq!(counts(&p, 1, 100, 1), [100]);
        let z = Picker::zipf(100, 1.2);
        assert_eq!(counts(&z, 100, 1000, 5), counts(&z, 100, 1000, 5));
    }
}
