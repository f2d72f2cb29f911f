//! Seeded synthetic entity vectors for measuring a bundle's export, downloads and search at a
//! scale no real KB here reaches (`photolink synthetic-bundle`): unit vectors clustered around
//! random unit centres, as real embeddings cluster, generated one at a time so that a million of
//! them never sit in memory as f32.

use crate::quantize::normalize;
use crate::rng::SplitMix64;

/// An endless, seeded stream of clustered unit vectors.
#[derive(Debug, Clone)]
pub struct ClusteredVectors {
    dim: usize,
    centres: Vec<f32>,
    noise: f32,
    rng: SplitMix64,
}

impl ClusteredVectors {
    /// `clusters` random unit centres (at least one) in `dim` dimensions; each vector is a centre
    /// drawn at random plus Gaussian noise of expected norm `spread`, normalised. Same seed, same
    /// stream.
    pub fn new(dim: usize, clusters: usize, spread: f32, seed: u64) -> ClusteredVectors {
        let mut rng = SplitMix64::new(seed);
        let mut centres = Vec::with_capacity(clusters.max(1) * dim);
        for _ in 0..clusters.max(1) {
            let mut c: Vec<f32> = (0..dim).map(|_| rng.normal() as f32).collect();
            normalize(&mut c);
            centres.extend(c);
        }
        ClusteredVectors {
            dim,
            centres,
            noise: spread / (dim.max(1) as f32).sqrt(),
            rng,
        }
    }

    /// Number of centres.
    pub fn clusters(&self) -> usize {
        self.centres.len() / self.dim.max(1)
    }

    /// The next vector, written into `out` (`dim` values), and its cluster.
    pub fn next_into(&mut self, out: &mut [f32]) -> usize {
        let c = self.rng.below(self.clusters() as u64) as usize;
        let centre = &self.centres[c * self.dim..(c + 1) * self.dim];
        for (x, &m) in out.iter_mut().zip(centre) {
            *x = m + self.noise * self.rng.normal() as f32;
        }
        normalize(out);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::ClusteredVectors;

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn vectors_are_unit_seeded_and_near_their_centre() {
        let (dim, n) = (64, 2000);
        let draw = |seed| {
            let mut g = ClusteredVectors::new(dim, 10, 0.7, seed);
            let mut v = vec![0f32; dim];
            (0..n)
                .map(|_| {
                    let c = g.next_into(&mut v);
                    (c, v.clone())
                })
                .collect::<Vec<_>>()
        };
        let a = draw(3);
        assert_eq!(a, draw(3), "the same seed gives the same stream");
        assert_ne!(a, draw(4), "another seed gives another stream");
        let g = ClusteredVectors::new(dim, 10, 0.7, 3);
        let centre = |c: usize| &g.centres[c * dim..(c + 1) * dim];
        let (mut own, mut other) = (0f32, 0f32);
        for (c, v) in &a {
            assert!((dot(v, v) - 1.0).abs() < 1e-5, "not a unit vector");
            own += dot(v, centre(*c));
            other += dot(v, centre((c + 1) % 10));
        }
        let (own, other) = (own / n as f32, other / n as f32);
        // Noise of norm 0.7 around a unit centre: cosine ≈ 1/√1.49 ≈ 0.82 to its own centre, ≈ 0
        // to another (random centres in 64 dimensions are nearly orthogonal).
        assert!(
            (own - 0.82).abs() < 0.05,
            "mean cosine to its own centre {own}"
        );
        assert!(other.abs() < 0.1, "mean cosine to another centre {other}");
        let used: std::collections::HashSet<usize> = a.iter().map(|(c, _)| *c).collect();
        assert_eq!(used.len(), 10, "every cluster is drawn");
    }
}
