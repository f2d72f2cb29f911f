//! The studies behind `docs/results/kb-quantization.md` and `docs/results/kb-partition.md`: how
//! closely int8 (and refined) search agrees with exact f32 search on synthetic data sets of the
//! paper's scale, and the recall of partitioned search against the fraction of the KB it scans.
//!
//! `cargo run --release -p photolink-kb --example kb_studies -- quantization|partition`

use photolink_kb::partition::{self, KMeansOptions};
use photolink_kb::quantize::{self, Quantization};
use photolink_kb::rng::SplitMix64;
use photolink_kb::search::{self, Query};
use photolink_kb::shard::{self, Shard};
use photolink_kb::topk::Hit;

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("quantization") => quantization_study(),
        Some("partition") => partition_study(),
        _ => {
            eprintln!("usage: kb_studies quantization|partition");
            std::process::exit(2);
        }
    }
}

/// Synthetic data sets for the studies: (name, entity vectors, queries), all unit vectors.
fn study_data(n: usize, nq: usize, dim: usize) -> Vec<(&'static str, Vec<f32>, Vec<f32>)> {
    let mut rng = SplitMix64::new(2024);
    let mut gauss = |len: usize| -> Vec<f32> { (0..len).map(|_| rng.normal() as f32).collect() };
    let normalise_rows = |mut v: Vec<f32>| {
        v.chunks_exact_mut(dim).for_each(quantize::normalize);
        v
    };
    // Queries: an entity's vector plus noise of a random strength (relative norm 0..3), so some
    // are near-duplicates and some barely closer to their entity than to the crowd.
    let perturbed = |base: &[f32], noise: Vec<f32>, rng: &mut SplitMix64| {
        let mut q = Vec::with_capacity(nq * dim);
        for (i, z) in noise.chunks_exact(dim).enumerate() {
            let e = (i * 7919) % n;
            let rho = 3.0 * rng.next_f64() as f32 / (dim as f32).sqrt();
            q.extend(
                base[e * dim..(e + 1) * dim]
                    .iter()
                    .zip(z)
                    .map(|(x, z)| x + rho * z),
            );
        }
        normalise_rows(q)
    };
    let mut out = Vec::new();

    let iso = normalise_rows(gauss(n * dim));
    let noise = gauss(nq * dim);
    let mut r2 = SplitMix64::new(1);
    let q = perturbed(&iso, noise, &mut r2);
    out.push(("isotropic, entity+noise queries", iso.clone(), q));
    out.push((
        "isotropic, random queries",
        iso,
        normalise_rows(gauss(nq * dim)),
    ));

    // Clustered: 1,000 centres, entities spread around them (many close competitors).
    let centres = normalise_rows(gauss(1000 * dim));
    let spread = gauss(n * dim);
    let mut clustered = Vec::with_capacity(n * dim);
    for (i, z) in spread.chunks_exact(dim).enumerate() {
        let c = &centres[(i % 1000) * dim..(i % 1000 + 1) * dim];
        clustered.extend(c.iter().zip(z).map(|(c, z)| c + 0.08 * z));
    }
    let clustered = normalise_rows(clustered);
    let noise = gauss(nq * dim);
    let q = perturbed(&clustered, noise, &mut r2);
    out.push(("clustered (1,000 centres)", clustered, q));

    // Anisotropic: power-law spectrum plus four outlier dimensions with a large common offset,
    // as seen in transformer sentence embeddings.
    let raw = gauss(n * dim);
    let shape = |v: &[f32]| -> Vec<f32> {
        v.chunks_exact(dim)
            .flat_map(|row| {
                row.iter().enumerate().map(|(d, x)| {
                    let s = 1.0 / (1.0 + d as f32 / 8.0).sqrt();
                    if d % 64 == 5 { 4.0 + 0.5 * x } else { s * x }
                })
            })
            .collect()
    };
    let aniso = normalise_rows(shape(&raw));
    let noise = gauss(nq * dim);
    let q = perturbed(&aniso, noise, &mut r2);
    out.push(("anisotropic + outlier dims", aniso, q));
    out
}

/// Top-1 agreement and recall@10 against `exact` (in %), and the largest exact-score gap between
/// the exact top-1 and the top-1 returned instead, over the queries where they differ: a swap
/// between entities whose true scores differ by less than that is a near-tie.
fn agreement(
    exact: &[Vec<Hit>],
    got: &[Vec<Hit>],
    exact_score: impl Fn(usize, u64) -> f32,
) -> (f64, f64, f32) {
    let mut top1 = 0usize;
    let mut recall = 0f64;
    let mut worst_gap = 0f32;
    for (qi, (e, g)) in exact.iter().zip(got).enumerate() {
        if e[0].index == g[0].index {
            top1 += 1;
        } else {
            worst_gap = worst_gap.max(e[0].score - exact_score(qi, g[0].index));
        }
        recall += g
            .iter()
            .filter(|h| e.iter().any(|x| x.index == h.index))
            .count() as f64
            / e.len() as f64;
    }
    (
        100.0 * top1 as f64 / exact.len() as f64,
        100.0 * recall / exact.len() as f64,
        worst_gap,
    )
}

/// Quantisation study behind `docs/results/kb-quantization.md` (a few minutes).
fn quantization_study() {
    let (n, nq, dim, k) = (120_000, 1_000, 256, 10);
    println!("N = {n}, dim = {dim}, {nq} queries, k = {k}; agreement with exact f32 search\n");
    println!("| data | scheme | top-1 agreement % | recall@10 % | worst f32 gap of a top-1 swap |");
    println!("|---|---|---|---|---|");
    let only = std::env::var("KB_STUDY_ONLY").unwrap_or_default();
    for (name, v, queries) in study_data(n, nq, dim) {
        if !name.contains(only.as_str()) {
            continue;
        }
        let exact: Vec<Vec<Hit>> = queries
            .chunks_exact(dim)
            .map(|q| search::exact_f32(q, &v, k).unwrap())
            .collect();
        let scan = |matrix: &[f32], query: &dyn Fn(&[f32]) -> Vec<f32>| -> Vec<Vec<Hit>> {
            queries
                .chunks_exact(dim)
                .map(|q| search::exact_f32(&query(q), matrix, k).unwrap())
                .collect()
        };
        let deq = |scales: &[f32], rows: &[i8]| -> Vec<f32> {
            let mut m = vec![0f32; rows.len()];
            for ((o, r), s) in m
                .chunks_exact_mut(dim)
                .zip(rows.chunks_exact(dim))
                .zip(scales)
            {
                quantize::dequantize_row(r, *s, o);
            }
            m
        };
        let (scales, rows) = Quantization::identity(dim).encode_rows(&v);
        let per_vector = deq(&scales, &rows);
        // A: plain per-vector int8 through the real search (int16 query, exact i32 sums).
        let plain = {
            let quant = Quantization::identity(dim);
            let shard =
                Shard::decode(shard::encode(dim, 0, None, &scales, &rows).unwrap(), dim).unwrap();
            queries
                .chunks_exact(dim)
                .map(|q| search::search(&Query::new(q, &quant).unwrap(), [&shard], k).unwrap())
                .collect::<Vec<_>>()
        };
        // S: the shipped scheme through the real search: calibrated on the first
        // CALIBRATION_ROWS entities as the writer does (centred, per-dimension max, per-vector).
        let shipped = {
            let calib = quantize::CALIBRATION_ROWS.min(n) * dim;
            let quant = Quantization::calibrate(&v[..calib], dim);
            let (scales, rows) = quant.encode_rows(&v);
            let shard =
                Shard::decode(shard::encode(dim, 0, None, &scales, &rows).unwrap(), dim).unwrap();
            queries
                .chunks_exact(dim)
                .map(|q| search::search(&Query::new(q, &quant).unwrap(), [&shard], k).unwrap())
                .collect::<Vec<_>>()
        };
        // B: same rows, f32 query (no query rounding at all).
        let f32_query = scan(&per_vector, &|q| q.to_vec());
        // C: same rows, int8 query.
        let int8_query = scan(&per_vector, &|q| {
            let mut qi = vec![0i8; dim];
            let s = quantize::quantize_row(q, &mut qi);
            let mut out = vec![0f32; dim];
            quantize::dequantize_row(&qi, s, &mut out);
            out
        });
        // D: per-vector scale with MSE-optimal clipping (scale = α·max/127, α searched).
        let mut clipped = vec![0f32; v.len()];
        for (x, o) in v.chunks_exact(dim).zip(clipped.chunks_exact_mut(dim)) {
            let max = x.iter().fold(0f32, |m, a| m.max(a.abs()));
            let mut best = (f32::INFINITY, vec![0f32; dim]);
            for step in 0..=10 {
                let s = (1.0 - 0.04 * step as f32) * max / 127.0;
                let d: Vec<f32> = x
                    .iter()
                    .map(|a| (a / s).round().clamp(-127.0, 127.0) * s)
                    .collect();
                let err: f32 = d.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum();
                if err < best.0 {
                    best = (err, d);
                }
            }
            o.copy_from_slice(&best.1);
        }
        let clip = scan(&clipped, &|q| q.to_vec());
        // E: per-dimension scales (max over the KB of each dimension), no per-vector scale.
        let mut dim_max = vec![0f32; dim];
        for x in v.chunks_exact(dim) {
            for (m, a) in dim_max.iter_mut().zip(x) {
                *m = m.max(a.abs());
            }
        }
        let per_dim: Vec<f32> = v
            .chunks_exact(dim)
            .flat_map(|x| {
                x.iter().zip(&dim_max).map(|(a, m)| {
                    let s = m / 127.0;
                    (a / s).round().clamp(-127.0, 127.0) * s
                })
            })
            .collect();
        let pd = scan(&per_dim, &|q| q.to_vec());
        // F, G: per-dimension factor σ_d (RMS or max of the dimension over the KB) times a
        // per-vector scale: y = x/σ is quantised per vector, x ≈ σ · s · q. Search cost is the
        // same as per-vector (σ folds into the query).
        let mut rms = vec![0f64; dim];
        for x in v.chunks_exact(dim) {
            for (m, a) in rms.iter_mut().zip(x) {
                *m += (*a as f64) * (*a as f64);
            }
        }
        let rms: Vec<f32> = rms.iter().map(|m| (m / n as f64).sqrt() as f32).collect();
        // H: centred first (x = μ + r; q·μ is the same for every entity, so only r is quantised),
        // then per-dimension max of |r| times a per-vector scale.
        let dim_scaled = |mu: &[f32], sigma: &[f32]| -> Vec<f32> {
            let mut out = vec![0f32; v.len()];
            let mut y = vec![0f32; dim];
            let mut qi = vec![0i8; dim];
            for (x, o) in v.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
                for (((y, a), s), m) in y.iter_mut().zip(x).zip(sigma).zip(mu) {
                    *y = (a - m) / s;
                }
                let s = quantize::quantize_row(&y, &mut qi);
                for (((o, q), sd), m) in o.iter_mut().zip(&qi).zip(sigma).zip(mu) {
                    *o = m + *q as f32 * s * sd;
                }
            }
            out
        };
        let zero = vec![0f32; dim];
        let ds_rms = scan(&dim_scaled(&zero, &rms), &|q| q.to_vec());
        let ds_max = scan(&dim_scaled(&zero, &dim_max), &|q| q.to_vec());
        let mut mu = vec![0f64; dim];
        for x in v.chunks_exact(dim) {
            for (m, a) in mu.iter_mut().zip(x) {
                *m += *a as f64 / n as f64;
            }
        }
        let mu: Vec<f32> = mu.iter().map(|m| *m as f32).collect();
        let mut centred_max = vec![0f32; dim];
        for x in v.chunks_exact(dim) {
            for ((c, a), m) in centred_max.iter_mut().zip(x).zip(&mu) {
                *c = c.max((a - m).abs());
            }
        }
        let centred = scan(&dim_scaled(&mu, &centred_max), &|q| q.to_vec());

        for (scheme, got) in [
            ("per-vector, int16 query", &plain),
            ("per-vector, f32 query", &f32_query),
            ("per-vector, int8 query", &int8_query),
            ("per-vector, MSE-clipped scale", &clip),
            ("per-dimension scales", &pd),
            ("per-dim RMS × per-vector", &ds_rms),
            ("per-dim max × per-vector", &ds_max),
            ("centred, per-dim max × per-vector", &centred),
            (
                "shipped: centred, per-dim max × per-vector, int16 query",
                &shipped,
            ),
        ] {
            let (t1, r10, gap) = agreement(&exact, got, |qi, i| {
                let (q, i) = (&queries[qi * dim..(qi + 1) * dim], i as usize);
                q.iter()
                    .zip(&v[i * dim..(i + 1) * dim])
                    .map(|(a, b)| a * b)
                    .sum()
            });
            println!("| {name} | {scheme} | {t1:.1} | {r10:.2} | {gap:.4} |");
        }
    }
}

/// Partition recall study behind `docs/results/kb-partition.md` (minutes).
fn partition_study() {
    let (n, nq, dim) = (200_000, 200, 256);
    let k = 447; // ≈ √N partitions
    println!("N = {n}, dim = {dim}, {k} partitions, {nq} queries, recall@10 vs exhaustive int8\n");
    println!("| data | nprobe | scanned % | recall@10 % | top-1 agreement % |");
    println!("|---|---|---|---|---|");
    for (name, v, queries) in study_data(n, nq, dim) {
        if name.contains("random queries") {
            continue;
        }
        let t = std::time::Instant::now();
        let pts = partition::measure_recall(
            &v,
            dim,
            &queries,
            10,
            &KMeansOptions::new(k),
            &[1, 2, 4, 8, 16, 32, 64],
        )
        .unwrap();
        for p in pts {
            println!(
                "| {name} | {} | {:.1} | {:.1} | {:.1} |",
                p.nprobe,
                100.0 * p.scanned_fraction,
                100.0 * p.recall_at_k,
                100.0 * p.top1_agreement
            );
        }
        eprintln!("{name}: {:.0} s", t.elapsed().as_secs_f64());
    }
}
