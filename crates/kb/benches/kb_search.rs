//! KB search speed, one thread, one query, k = 10, dim 256, N = 120,000 and 1,000,000:
//! exact f32 scan, the int8 scan (best kernel and scalar), the int8 scan with refinement files
//! (best kernel; re-scores only the candidates), and one plain read of the N×256 int8 matrix (the
//! memory-bandwidth limit the int8 scan is measured against).
//!
//! `cargo bench --bench kb_search`. With `KB_BENCH_DUMP=<dir>` it also writes the vectors and the
//! query as raw little-endian f32 (`vectors-<N>.f32`, `query.f32`) for `benches/faiss_compare.py`,
//! so FAISS is measured on exactly the same data. `KB_BENCH_N=120000` limits the sizes.
//! `KB_BENCH_CPU_TIME=1` (Linux) measures the thread's CPU time instead of wall time, for a
//! machine that cannot be made quiet (`faiss_compare.py` reports both as well).

use std::hint::black_box;
use std::io::Write;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{Bencher, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use photolink_kb::layout;
use photolink_kb::quantize::{self, CALIBRATION_ROWS, Quantization};
use photolink_kb::refine::{self, Refinement};
use photolink_kb::rng::SplitMix64;
use photolink_kb::shard::{self, Shard};
use photolink_kb::{Kernel, Query, Searcher, exact_f32};

const DIM: usize = 256;
const K: usize = 10;

/// `n` Gaussian unit vectors; the same seed gives the same vectors on every machine.
fn unit_vectors(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let mut v: Vec<f32> = (0..n * DIM).map(|_| rng.normal() as f32).collect();
    v.chunks_exact_mut(DIM).for_each(quantize::normalize);
    v
}

/// The bundle's quantisation and its shards of at most 16 MB, as the writer makes them: without
/// and with their refinement files.
fn shards(v: &[f32]) -> (Quantization, Vec<Shard>, Vec<Shard>) {
    let n = v.len() / DIM;
    let quant = Quantization::calibrate(&v[..n.min(CALIBRATION_ROWS) * DIM], DIM);
    let (mut scales, mut rows) = (Vec::with_capacity(n), vec![0i8; n * DIM]);
    let width = layout::refine_row_bytes(DIM);
    let (mut rscales, mut nibbles) = (Vec::with_capacity(n), vec![0u8; n * width]);
    let mut y = vec![0f32; DIM];
    for (i, x) in v.chunks_exact(DIM).enumerate() {
        let row = &mut rows[i * DIM..(i + 1) * DIM];
        let s = quant.encode_row(x, &mut y, row);
        let packed = &mut nibbles[i * width..(i + 1) * width];
        rscales.push(refine::quantize_residual(&y, row, s, packed));
        scales.push(s);
    }
    let per = photolink_kb::layout::rows_fitting(DIM, 16_000_000) as usize;
    let (mut plain, mut refined) = (Vec::new(), Vec::new());
    for (i, (s, r)) in scales.chunks(per).zip(rows.chunks(per * DIM)).enumerate() {
        let first = (i * per) as u64;
        let bytes = shard::encode(DIM, first, None, s, r).expect("valid shard");
        let digest = layout::sha256(&bytes);
        let shard = Shard::decode(bytes, DIM).expect("valid shard");
        let (rs, nb) = (
            &rscales[i * per..i * per + s.len()],
            &nibbles[i * per * width..(i * per + s.len()) * width],
        );
        let r = Refinement::decode(
            refine::encode(DIM, first, digest, rs, nb).expect("valid"),
            DIM,
        )
        .expect("valid refinement");
        refined.push(shard.clone().with_refinement(r).expect("same rows"));
        plain.push(shard);
    }
    (quant, plain, refined)
}

fn dump(dir: &str, name: &str, v: &[f32]) {
    std::fs::create_dir_all(dir).expect("dump dir");
    let f = std::fs::File::create(format!("{dir}/{name}")).expect("dump file");
    let mut f = std::io::BufWriter::new(f);
    for x in v {
        f.write_all(&x.to_le_bytes()).expect("dump write");
    }
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Duration {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is Linux's thread CPU clock.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.sec as u64, ts.nsec as u32)
}

/// Times `f` in wall time, or in thread CPU time when `KB_BENCH_CPU_TIME` is set.
fn run<R>(b: &mut Bencher<'_, WallTime>, mut f: impl FnMut() -> R) {
    #[cfg(target_os = "linux")]
    if std::env::var_os("KB_BENCH_CPU_TIME").is_some() {
        b.iter_custom(|iters| {
            let start = thread_cpu_time();
            for _ in 0..iters {
                black_box(f());
            }
            thread_cpu_time() - start
        });
        return;
    }
    b.iter(f)
}

/// One pass over every byte (XOR of 64-bit words): the time a scan cannot beat.
fn read_once(bytes: &[u8]) -> u64 {
    let mut acc = [0u64; 8];
    for chunk in bytes.chunks_exact(64) {
        for (i, a) in acc.iter_mut().enumerate() {
            *a ^= u64::from_le_bytes(chunk[i * 8..i * 8 + 8].try_into().unwrap());
        }
    }
    acc.iter().fold(0, |x, y| x ^ y)
}

fn bench(c: &mut Criterion) {
    let sizes: Vec<usize> = match std::env::var("KB_BENCH_N") {
        Ok(n) => vec![n.parse().expect("KB_BENCH_N is a number")],
        Err(_) => vec![120_000, 1_000_000],
    };
    let query = unit_vectors(1, 1);
    let dump_dir = std::env::var("KB_BENCH_DUMP").ok();
    if let Some(d) = &dump_dir {
        dump(d, "query.f32", &query);
    }
    eprintln!("int8 kernel: {}", Kernel::detect().name());
    for &n in &sizes {
        let v = unit_vectors(2, n);
        if let Some(d) = &dump_dir {
            dump(d, &format!("vectors-{n}.f32"), &v);
        }
        let (quant, shards, refined) = shards(&v);
        let exact = exact_f32(&query, &v, K).unwrap();
        let int8 = photolink_kb::search(&Query::new(&query, &quant).unwrap(), &shards, K).unwrap();
        let fine = photolink_kb::search(&Query::new(&query, &quant).unwrap(), &refined, K).unwrap();
        eprintln!(
            "N={n}: top-1 f32 {} ({:.4}), int8 {} ({:.4}), refined {} ({:.4})",
            exact[0].index,
            exact[0].score,
            int8[0].index,
            int8[0].score,
            fine[0].index,
            fine[0].score
        );
        let matrix: Vec<u8> = shards.iter().flat_map(|s| s.rows().to_vec()).collect();

        let mut g = c.benchmark_group(format!("kb_search/N={n}"));
        g.throughput(Throughput::Elements(1));
        if n >= 1_000_000 {
            g.sample_size(10).measurement_time(Duration::from_secs(10));
        } else {
            g.sample_size(30).measurement_time(Duration::from_secs(5));
        }
        g.bench_function("f32_exact", |b| {
            run(b, || {
                exact_f32(black_box(&query), black_box(&v), K).unwrap()
            })
        });
        for kernel in Kernel::available() {
            let q = Query::new(&query, &quant).unwrap().with_kernel(kernel);
            g.bench_function(BenchmarkId::new("int8_scan", kernel.name()), |b| {
                run(b, || {
                    let mut s = Searcher::new(q.clone(), K);
                    for sh in &shards {
                        s.add_shard(black_box(sh)).unwrap();
                    }
                    s.hits()
                })
            });
        }
        let q = Query::new(&query, &quant).unwrap();
        let kernel = q.kernel().name();
        g.bench_function(BenchmarkId::new("int8_refined_scan", kernel), |b| {
            run(b, || {
                let mut s = Searcher::new(q.clone(), K);
                for sh in &refined {
                    s.add_shard(black_box(sh)).unwrap();
                }
                s.hits()
            })
        });
        g.bench_function("read_int8_matrix", |b| {
            run(b, || read_once(black_box(&matrix)))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
