//! Top-k selection: a bounded heap that keeps the k best hits seen so far, in a total order
//! (score descending, then entity index ascending) so that results never depend on the order in
//! which shards arrive.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One ranked entity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Global entity index in the bundle (look its metadata up with
    /// [`Manifest::locate`](super::manifest::Manifest::locate)).
    pub index: u64,
    /// Similarity to the query (a cosine similarity for unit vectors, up to quantisation).
    pub score: f32,
}

impl Hit {
    /// `Less` when `self` ranks before `other`: higher score first, then lower index.
    pub fn rank_cmp(&self, other: &Hit) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.index.cmp(&other.index))
    }
}

/// Heap entry ordered so that the heap's top is the worst kept hit.
#[derive(Debug, Clone, Copy)]
struct Worst(Hit);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.rank_cmp(&other.0)
    }
}

/// The k best hits seen so far.
#[derive(Debug, Clone)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
}

/// Hits a [`TopK`] makes room for up front; more are allocated only as they arrive.
const PREALLOCATED: usize = 1024;

impl TopK {
    /// An empty selection of at most `k` hits.
    pub fn new(k: usize) -> TopK {
        TopK {
            k,
            // A caller's k may be absurd (`-k 10^18`): memory grows with the hits actually kept,
            // which are never more than the rows scanned.
            heap: BinaryHeap::with_capacity(k.min(PREALLOCATED) + 1),
        }
    }

    /// The score a new hit must reach to have a chance of entering: the worst kept score when full,
    /// −∞ otherwise. Scanning code compares against this before calling [`TopK::push`].
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |w| w.0.score)
        }
    }

    /// Offers a hit; returns whether it was kept.
    pub fn push(&mut self, hit: Hit) -> bool {
        if self.k == 0 {
            return false;
        }
        if self.heap.len() < self.k {
            self.heap.push(Worst(hit));
            return true;
        }
        let worst = self.heap.peek().expect("full heap is non-empty").0;
        if hit.rank_cmp(&worst) == Ordering::Less {
            self.heap.pop();
            self.heap.push(Worst(hit));
            true
        } else {
            false
        }
    }

    /// Number of hits kept.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no hit is kept.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The kept hits, best first.
    pub fn sorted(&self) -> Vec<Hit> {
        let mut v: Vec<Hit> = self.heap.iter().map(|w| w.0).collect();
        v.sort_by(Hit::rank_cmp);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_k_best_in_any_order() {
        let hits: Vec<Hit> = (0..100u64)
            .map(|i| Hit {
                index: i,
                score: ((i * 37) % 101) as f32,
            })
            .collect();
        let mut want = hits.clone();
        want.sort_by(Hit::rank_cmp);
        want.truncate(7);
        for rev in [false, true] {
            let mut t = TopK::new(7);
            let order: Vec<&Hit> = if rev {
                hits.iter().rev().collect()
            } else {
                hits.iter().collect()
            };
            for h in order {
                t.push(*h);
            }
            assert_eq!(t.sorted(), want);
        }
    }

    #[test]
    fn an_absurd_k_allocates_only_what_it_keeps() {
        for k in [usize::MAX, 1 << 60] {
            let mut t = TopK::new(k);
            for i in 0..3u64 {
                t.push(Hit {
                    index: i,
                    score: i as f32,
                });
            }
            assert!(t.heap.capacity() <= PREALLOCATED + 1);
            assert_eq!(t.sorted().len(), 3);
        }
    }

    #[test]
    fn ties_prefer_lower_index_whatever_the_order() {
        let mut t = TopK::new(2);
        for i in [5u64, 3, 9, 1] {
            t.push(Hit {
                index: i,
                score: 1.0,
            });
        }
        let idx: Vec<u64> = t.sorted().iter().map(|h| h.index).collect();
        assert_eq!(idx, vec![1, 3]);
    }

    #[test]
    fn k_zero_keeps_nothing() {
        let mut t = TopK::new(0);
        assert!(!t.push(Hit {
            index: 0,
            score: 1.0
        }));
        assert!(t.is_empty());
    }
}
