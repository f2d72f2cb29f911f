//! wasm32 check of photolink's kb search: the same synthetic data and queries give the same top-10
//! (indices and score bits) with the simd128 kernel, the scalar kernel and the native kernels; and
//! a timing entry point for the simd128 scan. No wasm-bindgen: plain exports, `now` imported.
use photolink_kb::quantize::{self, Quantization};
use photolink_kb::rng::SplitMix64;
use photolink_kb::shard::{self, Shard};
use photolink_kb::{Kernel, Query, Searcher};

pub const DIM: usize = 256;

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn now() -> f64;
}

/// Uniform data (no transcendental functions, so every platform generates identical bits).
fn unit_vectors(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let mut v: Vec<f32> = (0..n * DIM)
        .map(|_| (rng.next_f64() * 2.0 - 1.0) as f32)
        .collect();
    v.chunks_exact_mut(DIM).for_each(quantize::normalize);
    v
}

pub fn shards(n: usize) -> (Quantization, Vec<Shard>) {
    let v = unit_vectors(2, n);
    let quant = Quantization::calibrate(&v[..n.min(16384) * DIM], DIM);
    let (scales, rows) = quant.encode_rows(&v);
    let per = photolink_kb::layout::rows_fitting(DIM, 16_000_000) as usize;
    let shards = scales
        .chunks(per)
        .zip(rows.chunks(per * DIM))
        .enumerate()
        .map(|(i, (s, r))| {
            Shard::decode(
                shard::encode(DIM, (i * per) as u64, None, s, r).unwrap(),
                DIM,
            )
            .unwrap()
        })
        .collect::<Vec<_>>();
    (quant, shards)
}

fn search(shards: &(Quantization, Vec<Shard>), q: &[f32], kernel: Kernel) -> Vec<(u64, u32)> {
    let (quant, shards) = shards;
    let mut s = Searcher::new(Query::new(q, quant).unwrap().with_kernel(kernel), 10);
    for sh in shards {
        s.add_shard(sh).unwrap();
    }
    s.hits()
        .iter()
        .map(|h| (h.index, h.score.to_bits()))
        .collect()
}

/// FNV-1a digest of the top-10 of 16 queries with the best kernel (`best = 1`) or scalar.
pub fn digest(n: usize, best: bool) -> u64 {
    let shards = shards(n);
    let queries = unit_vectors(99, 16);
    let kernel = if best {
        Kernel::detect()
    } else {
        Kernel::scalar()
    };
    let mut h = 0xcbf29ce484222325u64;
    for q in queries.chunks_exact(DIM) {
        for (i, s) in search(&shards, q, kernel) {
            for b in i.to_le_bytes().into_iter().chain(s.to_le_bytes()) {
                h = (h ^ b as u64).wrapping_mul(0x100000001b3);
            }
        }
    }
    h
}

#[unsafe(no_mangle)]
pub extern "C" fn kb_digest(n: u32, best: u32) -> u64 {
    digest(n as usize, best != 0)
}

/// 1 when the detected kernel is simd128.
#[unsafe(no_mangle)]
pub extern "C" fn kb_kernel_is_simd128() -> u32 {
    (Kernel::detect().name() == "simd128") as u32
}

#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
pub extern "C" fn kb_bench_ms(n: u32, reps: u32, best: u32) -> f64 {
    let shards = shards(n as usize);
    let q = unit_vectors(1, 1);
    let kernel = if best != 0 {
        Kernel::detect()
    } else {
        Kernel::scalar()
    };
    let mut sink = 0u64;
    sink ^= search(&shards, &q, kernel)[0].0; // warm-up
    let t = unsafe { now() };
    for _ in 0..reps {
        sink ^= search(&shards, &q, kernel)[0].0;
    }
    let ms = (unsafe { now() } - t) / reps as f64;
    if sink == u64::MAX { -1.0 } else { ms }
}
