//! Native side of the wasm check: digests and timing with the native kernels.
//! `KB_BENCH_CPU_TIME=1` times with the thread's CPU time instead of wall time (busy machine).

use std::time::{Duration, Instant};

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`), or wall time since the first call
/// when `KB_BENCH_CPU_TIME` is not set.
fn now() -> Duration {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    if std::env::var_os("KB_BENCH_CPU_TIME").is_none() {
        return START.get_or_init(Instant::now).elapsed();
    }
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; 3 is Linux's CLOCK_THREAD_CPUTIME_ID.
    let rc = unsafe { clock_gettime(3, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime failed");
    Duration::new(ts.sec as u64, ts.nsec as u32)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(120_000, |s| s.parse().unwrap());
    println!("native kernel {}", photolink_kb::Kernel::detect().name());
    println!("digest best   {:016x}", kb_wasm_bench::digest(n, true));
    println!("digest scalar {:016x}", kb_wasm_bench::digest(n, false));
    let (quant, shards) = kb_wasm_bench::shards(n);
    let q: Vec<f32> = {
        let mut r = photolink_kb::rng::SplitMix64::new(1);
        let mut v: Vec<f32> = (0..kb_wasm_bench::DIM)
            .map(|_| (r.next_f64() * 2.0 - 1.0) as f32)
            .collect();
        photolink_kb::quantize::normalize(&mut v);
        v
    };
    for kernel in photolink_kb::Kernel::available() {
        let query = photolink_kb::Query::new(&q, &quant)
            .unwrap()
            .with_kernel(kernel);
        let reps = 200;
        let t = now();
        for _ in 0..reps {
            let mut s = photolink_kb::Searcher::new(query.clone(), 10);
            for sh in &shards {
                s.add_shard(sh).unwrap();
            }
            std::hint::black_box(s.hits());
        }
        println!(
            "native {} ms/query {:.3}",
            kernel.name(),
            (now() - t).as_secs_f64() * 1e3 / reps as f64
        );
    }
}
