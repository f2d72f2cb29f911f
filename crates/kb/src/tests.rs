//! Bundle-level tests: writer → reader round trips, every kind of bad input the issue lists (each
//! refused with its own error, never a wrong ranking), and the property tests (quantised search
//! agrees with exact search on well-separated data; corrupted bundles are always refused).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;

use super::layout::{self, Role};
use super::manifest::{self, FileEntry, Manifest};
use super::partition::{self, KMeansOptions};
use super::quantize;
use super::quantize::Quantization;
use super::refine::{self, Refinement};
use super::rng::SplitMix64;
use super::search::{self, Query, Searcher};
use super::shard::{self, Shard};
use super::topk::Hit;
use super::writer::{BundleWriter, WriterOptions};
use super::{BundleReader, EntityMeta, KbError, MetaShard};

const MODEL: &str = "sha256:0123456789abcdef";

/// A fresh empty directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "photolink-kb-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `n` random unit vectors of dimension `dim`, row-major.
fn unit_vectors(seed: u64, n: usize, dim: usize) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let mut v: Vec<f32> = (0..n * dim).map(|_| rng.normal() as f32).collect();
    v.chunks_exact_mut(dim).for_each(quantize::normalize);
    v
}

fn meta(i: usize) -> EntityMeta {
    EntityMeta {
        id: format!("Q{i}"),
        name: format!("Entity {i}"),
        description: format!("the entity number {i}"),
        url: i
            .is_multiple_of(2)
            .then(|| format!("https://example.org/Q{i}")),
    }
}

fn options(max_shard_bytes: u64) -> WriterOptions {
    WriterOptions {
        max_shard_bytes,
        partitions: None,
        nprobe: manifest::DEFAULT_NPROBE,
        refine: true,
    }
}

/// Writes a bundle of `n` entities and returns the vectors.
fn write_bundle(dir: &TempDir, n: usize, dim: usize, opts: WriterOptions) -> (Manifest, Vec<f32>) {
    let v = unit_vectors(7, n, dim);
    let mut w = BundleWriter::new(&dir.0, dim, MODEL, opts).unwrap();
    w.write_entities((0..n).map(|i| (meta(i), &v[i * dim..(i + 1) * dim])))
        .unwrap();
    w.add_file(Role::ImageF16, "image_f16.bin", b"weights")
        .unwrap();
    (w.finish().unwrap(), v)
}

/// Every file of a bundle directory, by path, manifest included (what a page would download).
fn read_all(dir: &TempDir, m: &Manifest) -> HashMap<String, Vec<u8>> {
    let mut files: HashMap<String, Vec<u8>> = m
        .files
        .iter()
        .map(|f| (f.path.clone(), std::fs::read(dir.0.join(&f.path)).unwrap()))
        .collect();
    files.insert(
        manifest::MANIFEST_NAME.into(),
        std::fs::read(dir.0.join(manifest::MANIFEST_NAME)).unwrap(),
    );
    files
}

/// The whole reader pipeline on downloaded bytes, as the page runs it: manifest, model check,
/// every file verified, search, metadata of the hits.
fn load_and_search(
    files: &HashMap<String, Vec<u8>>,
    query: &[f32],
    k: usize,
) -> Result<Vec<(Hit, String)>, KbError> {
    let m = Manifest::parse(&files[manifest::MANIFEST_NAME])?;
    m.check_model(MODEL, query.len())?;
    let get = |e: &FileEntry| {
        files
            .get(&e.path)
            .cloned()
            .ok_or_else(|| KbError::InconsistentManifest(format!("{} missing", e.path)))
    };
    let weights = m
        .file(Role::ImageF16)
        .ok_or_else(|| KbError::InconsistentManifest("no weights".into()))?;
    manifest::verify_file(&get(weights)?, weights)?;
    let mut s = Searcher::new(Query::new(query, &m.quantization)?, k);
    for e in m.shards() {
        let mut shard = Shard::parse(get(e)?, e, m.dim)?;
        if let Some(r) = m.refinement_for(e) {
            shard = shard.with_refinement(Refinement::parse(get(r)?, r, m.dim)?)?;
        }
        s.add_shard(&shard)?;
    }
    s.hits()
        .into_iter()
        .map(|h| {
            let (_, me) = m.locate(h.index)?;
            let meta = MetaShard::parse(&get(me)?, me)?;
            let id = meta.get(h.index).map(|e| e.id.clone()).unwrap_or_default();
            Ok((h, id))
        })
        .collect()
}

/// Reference: exact search over the dequantised rows (what the int8 scan must reproduce).
fn dequantised_reference(v: &[f32], quant: &Quantization, q: &[f32], k: usize) -> Vec<Hit> {
    let dim = quant.dim();
    let (scales, rows) = quant.encode_rows(v);
    let mut deq = vec![0f32; v.len()];
    for ((out, r), s) in deq
        .chunks_exact_mut(dim)
        .zip(rows.chunks_exact(dim))
        .zip(&scales)
    {
        quant.decode_row(r, *s, out);
    }
    search::exact_f32(q, &deq, k).unwrap()
}

#[test]
fn roundtrip_multi_shard_bundle() {
    let dir = TempDir::new("roundtrip");
    let dim = 48;
    // Small shards: 50 rows each → 1000 entities in 20 shards.
    let max = layout::shard_len(dim, 50);
    let (m, v) = write_bundle(&dir, 1000, dim, options(max));
    assert_eq!(m.count, 1000);
    assert_eq!(m.shards().count(), 20);
    assert!(m.shards().all(|s| s.bytes <= max));

    let r = BundleReader::open(&dir.0).unwrap();
    assert_eq!(r.manifest(), &m);
    let shards = r.load_shards().unwrap();
    let q = &v[123 * dim..124 * dim];
    let query = Query::new(q, &m.quantization).unwrap();
    let hits = search::search(&query, &shards, 10).unwrap();
    assert_eq!(hits[0].index, 123);
    assert!((hits[0].score - 1.0).abs() < 0.02);
    // With the refinement files, the same ranking as exact f32 search, scores within 5e-4.
    let want = search::exact_f32(q, &v, 10).unwrap();
    let idx = |h: &[Hit]| h.iter().map(|h| h.index).collect::<Vec<_>>();
    assert_eq!(idx(&hits), idx(&want));
    for (a, b) in hits.iter().zip(&want) {
        assert!(
            (a.score - b.score).abs() < 5e-4,
            "{} vs {}",
            a.score,
            b.score
        );
    }
    // Without them (int8 alone), the ranking of exact search over the dequantised rows.
    let int8: Vec<Shard> = shards
        .iter()
        .map(|s| Shard::decode(s.bytes().to_vec(), dim).unwrap())
        .collect();
    let hits8 = search::search(&query, &int8, 10).unwrap();
    let want8 = dequantised_reference(&v, &m.quantization, q, 10);
    assert_eq!(idx(&hits8), idx(&want8));
    for (a, b) in hits8.iter().zip(&want8) {
        assert!((a.score - b.score).abs() < 1e-3);
    }
    assert_eq!(r.entity(123).unwrap(), meta(123));
    assert_eq!(r.entity(999).unwrap(), meta(999));
    assert!(matches!(
        r.entity(1000),
        Err(KbError::IndexOutOfRange { .. })
    ));
    let w = r.manifest().file(Role::ImageF16).unwrap();
    assert_eq!(r.read_verified(w).unwrap(), b"weights");

    // Shards arriving in any order give the same result.
    let mut s = Searcher::new(query, 10);
    for sh in shards.iter().rev() {
        s.add_shard(sh).unwrap();
    }
    assert_eq!(s.hits(), hits);
}

#[test]
fn export_is_deterministic_and_replaces_a_previous_export() {
    let dir = TempDir::new("determinism");
    let (m1, _) = write_bundle(&dir, 300, 16, options(layout::shard_len(16, 40)));
    let first = read_all(&dir, &m1);
    // Re-export with fewer, larger shards into the same directory: stale shards are removed.
    let (m2, _) = write_bundle(&dir, 300, 16, options(layout::shard_len(16, 100)));
    assert_eq!(m2.shards().count(), 3);
    let leftover = std::fs::read_dir(dir.0.join("kb")).unwrap().count();
    assert_eq!(leftover, 9, "3 shards + 3 metadata + 3 refinement files");
    let (m3, _) = write_bundle(&dir, 300, 16, options(layout::shard_len(16, 40)));
    assert_eq!(m1, m3);
    assert_eq!(first, read_all(&dir, &m3));
}

#[test]
fn an_empty_kb_is_refused_by_the_writer_and_the_reader() {
    let dir = TempDir::new("empty");
    let w = BundleWriter::new(&dir.0, 8, MODEL, options(1 << 20)).unwrap();
    assert!(matches!(w.finish(), Err(KbError::EmptyKb)));
    assert!(!dir.0.join(manifest::MANIFEST_NAME).exists());
    // A manifest edited to list no entity is refused as well.
    let (files, _, _) = small_bundle();
    let mut m = manifest_of(&files);
    m.count = 0;
    m.files.retain(|f| f.role().is_some_and(|r| !r.is_ranged()));
    assert!(matches!(
        Manifest::parse(&m.to_json()),
        Err(KbError::EmptyKb)
    ));
}

#[test]
fn writer_refuses_bad_entities_and_names() {
    let dir = TempDir::new("writer-refuses");
    let mut w = BundleWriter::new(&dir.0, 4, MODEL, options(1 << 20)).unwrap();
    let unit = [0.5f32, 0.5, 0.5, 0.5];
    assert!(w.push(meta(0), &[1.0, 0.0, 0.0]).is_err(), "wrong dim");
    assert!(w.push(meta(0), &[f32::NAN, 0.0, 0.0, 0.0]).is_err(), "NaN");
    assert!(w.push(meta(0), &[1.0, 1.0, 0.0, 0.0]).is_err(), "not unit");
    let mut no_id = meta(0);
    no_id.id = String::new();
    assert!(w.push(no_id, &unit).is_err(), "empty id");
    w.push(meta(0), &unit).unwrap();
    assert!(w.push(meta(0), &unit).is_err(), "repeated id");
    for bad in [
        "../evil.bin",
        "/abs",
        "a\\b",
        "kb/shard-00000.bin",
        "manifest.json",
    ] {
        assert!(w.add_file(Role::ImageF32, bad, b"x").is_err(), "{bad}");
    }
    assert!(
        w.add_file(Role::Shard, "x.bin", b"x").is_err(),
        "reserved role"
    );
    assert!(
        BundleWriter::new(&dir.0, 4, MODEL, options(64)).is_err(),
        "too small shards"
    );
    assert!(
        BundleWriter::new(&dir.0, 0, MODEL, options(1 << 20)).is_err(),
        "dim 0"
    );
    assert!(
        BundleWriter::new(&dir.0, 4, "", options(1 << 20)).is_err(),
        "no model"
    );
    // Nothing escaped the directory.
    assert!(!dir.0.join("../evil.bin").exists());
}

/// A bundle in memory: (files by path, the vectors, dim).
type MemoryBundle = (HashMap<String, Vec<u8>>, Vec<f32>, usize);

/// A small valid bundle in memory.
fn small_bundle() -> MemoryBundle {
    small_bundle_refined(true)
}

/// [`small_bundle`], with or without refinement files.
fn small_bundle_refined(refine: bool) -> MemoryBundle {
    let dir = TempDir::new("small");
    let dim = 16;
    let opts = WriterOptions {
        refine,
        ..options(layout::shard_len(dim, 50))
    };
    let (m, v) = write_bundle(&dir, 120, dim, opts);
    (read_all(&dir, &m), v, dim)
}

fn manifest_of(files: &HashMap<String, Vec<u8>>) -> Manifest {
    Manifest::parse(&files[manifest::MANIFEST_NAME]).unwrap()
}

fn set_manifest(files: &mut HashMap<String, Vec<u8>>, m: &Manifest) {
    files.insert(
        manifest::MANIFEST_NAME.into(),
        serde_json::to_vec(m).unwrap(),
    );
}

/// Replaces a shard's bytes and updates its manifest entry so that length and sha256 match: the
/// hash no longer protects, and the header checks must catch the problem.
fn replace_shard_rehashed(files: &mut HashMap<String, Vec<u8>>, bytes: Vec<u8>) {
    let path = first_shard_path(files);
    replace_rehashed(files, &path, bytes);
}

/// Replaces the file at `path` and re-hashes its manifest entry to match.
fn replace_rehashed(files: &mut HashMap<String, Vec<u8>>, path: &str, bytes: Vec<u8>) {
    let mut m = manifest_of(files);
    let e = m.files.iter_mut().find(|f| f.path == path).unwrap();
    e.bytes = bytes.len() as u64;
    e.sha256 = manifest::sha256_hex(&bytes);
    files.insert(e.path.clone(), bytes);
    files.insert(
        manifest::MANIFEST_NAME.into(),
        serde_json::to_vec(&m).unwrap(),
    );
}

fn first_shard_path(files: &HashMap<String, Vec<u8>>) -> String {
    manifest_of(files).shards().next().unwrap().path.clone()
}

#[test]
fn valid_small_bundle_searches() {
    let (files, v, dim) = small_bundle();
    let hits = load_and_search(&files, &v[5 * dim..6 * dim], 3).unwrap();
    assert_eq!(hits[0].0.index, 5);
    assert_eq!(hits[0].1, "Q5");
}

#[test]
fn an_absurd_k_returns_the_whole_kb_at_most() {
    let (files, v, dim) = small_bundle();
    let hits = load_and_search(&files, &v[5 * dim..6 * dim], usize::MAX).unwrap();
    assert_eq!(hits.len(), 120);
    assert_eq!(hits[0].0.index, 5);
}

#[test]
fn a_zero_or_non_finite_query_is_refused_not_ranked_by_index() {
    let (files, _, dim) = small_bundle();
    for (query, reason) in [
        (vec![0.0; dim], "it is all zeros"),
        (vec![f32::NAN; dim], "it contains NaN or infinity"),
    ] {
        match load_and_search(&files, &query, 3) {
            Err(KbError::BadVector { what, reason: r }) => {
                assert_eq!((what.as_str(), r), ("query", reason));
            }
            other => panic!("{reason}: {other:?}"),
        }
    }
}

#[test]
fn refuses_truncated_shard() {
    let (mut files, v, dim) = small_bundle();
    let p = first_shard_path(&files);
    files.get_mut(&p).unwrap().truncate(100);
    let err = load_and_search(&files, &v[..dim], 3).unwrap_err();
    assert!(matches!(err, KbError::LengthMismatch { .. }), "{err}");
    // Even with a manifest that agrees with the truncated file, the header refuses it.
    let mut bytes = files[&p].clone();
    bytes.truncate(100);
    replace_shard_rehashed(&mut files, bytes);
    let err = load_and_search(&files, &v[..dim], 3).unwrap_err();
    assert!(
        matches!(err, KbError::LengthMismatch { .. }),
        "manifest length check: {err}"
    );
    let err = Shard::decode(files[&p].clone(), dim).unwrap_err();
    assert!(matches!(err, KbError::MalformedShard { .. }), "{err}");
}

#[test]
fn refuses_flipped_byte_anywhere() {
    let (files, v, dim) = small_bundle();
    for path in files
        .keys()
        .filter(|p| p.as_str() != manifest::MANIFEST_NAME)
    {
        for at in [0, 1, files[path].len() / 2, files[path].len() - 1] {
            let mut f = files.clone();
            f.get_mut(path).unwrap()[at] ^= 0x10;
            let err = load_and_search(&f, &v[..dim], 120).unwrap_err();
            assert!(
                matches!(err, KbError::ChecksumMismatch { .. }),
                "{path}@{at}: {err}"
            );
        }
    }
}

#[test]
fn refuses_wrong_magic_and_version() {
    let (files, v, dim) = small_bundle();
    let p = first_shard_path(&files);
    let mut bad = files[&p].clone();
    bad[0] = b'X';
    let mut f = files.clone();
    replace_shard_rehashed(&mut f, bad);
    assert!(matches!(
        load_and_search(&f, &v[..dim], 3),
        Err(KbError::BadMagic { .. })
    ));

    let mut bad = files[&p].clone();
    bad[8] = 2;
    let mut f = files.clone();
    replace_shard_rehashed(&mut f, bad);
    assert!(matches!(
        load_and_search(&f, &v[..dim], 3),
        Err(KbError::UnsupportedVersion { found: 2, .. })
    ));

    // Both the next version and the previous one (whose identity covered the f32 weights only).
    for version in [manifest::VERSION + 1, manifest::VERSION - 1] {
        let mut m = manifest_of(&files);
        m.version = version;
        let mut f = files.clone();
        set_manifest(&mut f, &m);
        match load_and_search(&f, &v[..dim], 3) {
            Err(KbError::UnsupportedVersion { found, .. }) => assert_eq!(found, version),
            other => panic!("{version}: {other:?}"),
        }
    }
    let not_ours = br#"{"format":"something-else","version":1}"#;
    assert!(matches!(
        Manifest::parse(not_ours),
        Err(KbError::WrongFormat { .. })
    ));
    assert!(matches!(
        Manifest::parse(b"\x00\x01garbage"),
        Err(KbError::ManifestJson(_))
    ));
}

#[test]
fn refuses_dimension_and_model_mismatch() {
    let (mut files, v, dim) = small_bundle();
    let m = manifest_of(&files);
    assert!(matches!(
        m.check_model(MODEL, dim + 1),
        Err(KbError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        m.check_model("sha256:other", dim),
        Err(KbError::ModelMismatch { .. })
    ));
    // Query of the wrong dimension.
    assert!(matches!(
        load_and_search(&files, &v[..dim - 1], 3),
        Err(KbError::DimensionMismatch { .. })
    ));
    // A shard whose header has another dimension than the manifest.
    let p = first_shard_path(&files);
    let mut bad = files[&p].clone();
    bad[12] = (dim + 1) as u8;
    replace_shard_rehashed(&mut files, bad);
    assert!(matches!(
        load_and_search(&files, &v[..dim], 3),
        Err(KbError::DimensionMismatch { .. })
    ));
}

#[test]
fn refuses_count_mismatches() {
    let (files, v, dim) = small_bundle();
    // Manifest total count disagrees with its shards.
    let mut f = files.clone();
    let mut m = manifest_of(&f);
    m.count += 1;
    set_manifest(&mut f, &m);
    assert!(matches!(
        load_and_search(&f, &v[..dim], 3),
        Err(KbError::CountMismatch { .. })
    ));
    // Shard header count disagrees with the manifest entry (sha256 made to match).
    let p = first_shard_path(&files);
    let mut bad = files[&p].clone();
    bad[16] -= 1;
    let mut f = files.clone();
    replace_shard_rehashed(&mut f, bad);
    let err = load_and_search(&f, &v[..dim], 3).unwrap_err();
    assert!(
        matches!(
            err,
            KbError::MalformedShard { .. } | KbError::CountMismatch { .. }
        ),
        "{err}"
    );
    // A shard with a consistent header and length but another count than the manifest entry.
    let m = manifest_of(&files);
    let entry = m.shards().next().unwrap().clone();
    let rows = vec![0i8; 49 * dim];
    let other = shard::encode(dim, 0, None, &[0.01; 49], &rows).unwrap();
    let mut e = entry.clone();
    e.bytes = other.len() as u64;
    e.sha256 = manifest::sha256_hex(&other);
    assert!(matches!(
        Shard::parse(other, &e, dim),
        Err(KbError::CountMismatch { .. })
    ));
    // Metadata with one entity too few.
    let meta_entry = m.metadata_for(&entry).unwrap().clone();
    let text = String::from_utf8(files[&meta_entry.path].clone()).unwrap();
    let short: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let mut me = meta_entry.clone();
    me.bytes = short.len() as u64;
    me.sha256 = manifest::sha256_hex(short.as_bytes());
    assert!(matches!(
        MetaShard::parse(short.as_bytes(), &me),
        Err(KbError::CountMismatch { .. })
    ));
}

#[test]
fn refuses_metadata_missing_an_id() {
    let (mut files, v, dim) = small_bundle();
    let mut m = manifest_of(&files);
    let e = m.files.iter_mut().find(|f| f.is(Role::Metadata)).unwrap();
    let text = String::from_utf8(files[&e.path].clone()).unwrap();
    let bad = text.replacen("{\"id\":\"Q0\",", "{", 1);
    assert_ne!(bad, text);
    e.bytes = bad.len() as u64;
    e.sha256 = manifest::sha256_hex(bad.as_bytes());
    files.insert(e.path.clone(), bad.into_bytes());
    set_manifest(&mut files, &m);
    let err = load_and_search(&files, &v[..dim], 3).unwrap_err();
    assert!(
        matches!(&err, KbError::BadMetadata { line: 1, reason, .. } if reason.contains("no id")),
        "{err}"
    );
}

#[test]
fn refuses_paths_outside_the_bundle() {
    let (files, _, _) = small_bundle();
    for evil in [
        "../secret",
        "/etc/passwd",
        "kb/../../x",
        "kb\\..\\x",
        "C:/x",
        "..",
    ] {
        let mut m = manifest_of(&files);
        m.files.last_mut().unwrap().path = evil.into();
        let err = Manifest::parse(&serde_json::to_vec(&m).unwrap()).unwrap_err();
        assert!(matches!(err, KbError::UnsafePath { .. }), "{evil}: {err}");
    }
    // A reader handed a crafted entry directly refuses it too, before touching the file system.
    let dir = TempDir::new("traversal");
    let (m, _) = write_bundle(&dir, 10, 8, options(1 << 20));
    let r = BundleReader::open(&dir.0).unwrap();
    let mut e = m.files[0].clone();
    e.path = "../../etc/passwd".into();
    assert!(matches!(
        r.read_verified(&e),
        Err(KbError::UnsafePath { .. })
    ));
}

#[test]
fn refuses_links_out_of_the_bundle_special_files_and_huge_manifests() {
    let dir = TempDir::new("special");
    let (m, _) = write_bundle(&dir, 10, 8, options(1 << 20));
    let shard = m.shards().next().unwrap().clone();
    let path = dir.0.join(&shard.path);
    // The same bytes, but behind a link that leads out of the folder.
    let outside = TempDir::new("outside");
    let copy = outside.0.join("shard.bin");
    std::fs::copy(&path, &copy).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&copy, &path).unwrap();
    let r = BundleReader::open(&dir.0).unwrap();
    assert!(matches!(
        r.read_verified(&shard),
        Err(KbError::OutsideBundle { .. })
    ));
    // A link inside the folder is fine.
    let inside = dir.0.join("kb").join("inside-copy.bin");
    std::fs::copy(&copy, &inside).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&inside, &path).unwrap();
    assert_eq!(
        r.read_verified(&shard).unwrap(),
        std::fs::read(&copy).unwrap()
    );
    // A FIFO in a file's place is refused at once instead of blocking the reader forever.
    std::fs::remove_file(&path).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&path).status();
    if made.is_ok_and(|s| s.success()) {
        assert!(matches!(r.read_verified(&shard), Err(KbError::Read { .. })));
    }
    // A manifest larger than any real one is refused before it is parsed.
    let huge = vec![b' '; layout::MAX_MANIFEST_BYTES as usize + 1];
    assert!(matches!(
        Manifest::parse(&huge),
        Err(KbError::ManifestTooLarge { .. })
    ));
    std::fs::write(dir.0.join(manifest::MANIFEST_NAME), &huge).unwrap();
    assert!(matches!(
        BundleReader::open(&dir.0),
        Err(KbError::Read { .. })
    ));
}

#[test]
fn refuses_inconsistent_manifests() {
    let (files, _, _) = small_bundle();
    let base = manifest_of(&files);
    let mut cases: Vec<(&str, Manifest)> = Vec::new();
    let mut m = base.clone();
    let shard_at: Vec<usize> = (0..m.files.len())
        .filter(|&i| m.files[i].is(Role::Shard))
        .collect();
    m.files.swap(shard_at[0], shard_at[1]);
    cases.push(("shards out of order", m));
    let mut m = base.clone();
    let dup = m.files[0].clone();
    m.files.push(dup);
    cases.push(("duplicate path", m));
    let mut m = base.clone();
    m.files[0].sha256 = "ABC".into();
    cases.push(("bad digest", m));
    let mut m = base.clone();
    m.quantization.scheme = "pq-64".into();
    cases.push(("quantisation", m));
    let mut m = base.clone();
    m.dim = 0;
    cases.push(("dim 0", m));
    let mut m = base.clone();
    m.quantization.dim_scale[3] *= 1.01;
    cases.push(("dim_scale changed without its digest", m));
    let mut m = base.clone();
    m.quantization.offset[0] += 0.001;
    cases.push(("offset changed without its digest", m));
    let mut m = base.clone();
    m.quantization = Quantization::identity(base.dim + 1);
    cases.push(("quantization of another dimension", m));
    let mut m = base.clone();
    m.files
        .retain(|f| !f.is(Role::Metadata) || f.first != Some(0));
    cases.push(("missing metadata", m));
    let mut m = base.clone();
    m.files[0].partition = Some(0);
    cases.push(("partition without partitions", m));
    for (what, m) in cases {
        assert!(
            Manifest::parse(&serde_json::to_vec(&m).unwrap()).is_err(),
            "{what}"
        );
    }
}

#[test]
fn refuses_the_same_shard_twice_and_bad_scales() {
    let (files, v, dim) = small_bundle();
    let m = manifest_of(&files);
    let e = m.shards().next().unwrap();
    let s = Shard::parse(files[&e.path].clone(), e, dim).unwrap();
    let mut searcher = Searcher::new(Query::new(&v[..dim], &m.quantization).unwrap(), 5);
    searcher.add_shard(&s).unwrap();
    assert!(matches!(
        searcher.add_shard(&s),
        Err(KbError::ShardRejected(_))
    ));
    // A NaN scale would silently wreck the ranking: refused at parse time.
    let mut bad = files[&e.path].clone();
    bad[layout::HEADER_LEN..layout::HEADER_LEN + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(matches!(
        Shard::decode(bad, dim),
        Err(KbError::MalformedShard { .. })
    ));
    assert!(Query::new(&[f32::NAN; 4], &Quantization::identity(4)).is_err());
    assert!(Query::new(&[1.0; 4], &Quantization::identity(5)).is_err());
    // A finite but absurd scale (> MAX_SCALE) could make scores infinite.
    for absurd in [1e30f32, f32::MAX, layout::MAX_SCALE * 1.01, -1e-30] {
        let mut bad = files[&e.path].clone();
        bad[layout::HEADER_LEN..layout::HEADER_LEN + 4].copy_from_slice(&absurd.to_le_bytes());
        match Shard::decode(bad, dim) {
            Err(KbError::MalformedShard { reason, .. }) => {
                assert!(reason.starts_with("row 0 has an invalid scale"), "{reason}")
            }
            other => panic!("{absurd}: {other:?}"),
        }
    }
    // A zero scale on a row that has values would pin that entity's score to 0.
    let mut zero = files[&e.path].clone();
    zero[layout::HEADER_LEN..layout::HEADER_LEN + 4].copy_from_slice(&0f32.to_le_bytes());
    match Shard::decode(zero, dim) {
        Err(KbError::MalformedShard { reason, .. }) => {
            assert_eq!(reason, "row 0 has values but a zero scale")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn partitioned_bundle_full_probe_equals_exhaustive() {
    let dir = TempDir::new("partitioned");
    let (n, dim, k) = (2000, 32, 8);
    let mut opts = options(layout::shard_len(dim, 100));
    opts.partitions = Some(KMeansOptions::new(k));
    // More than there are partitions: the manifest keeps their number.
    opts.nprobe = 99;
    let (m, v) = write_bundle(&dir, n, dim, opts);
    let parts = m.partitions.clone().unwrap();
    assert_eq!((parts.count, parts.nprobe), (k as u32, k as u32));
    // A manifest without nprobe (older bundles) reads the default; 0 is refused.
    let mut json: serde_json::Value = serde_json::to_value(&m).unwrap();
    json["partitions"].as_object_mut().unwrap().remove("nprobe");
    let old = Manifest::parse(&serde_json::to_vec(&json).unwrap()).unwrap();
    assert_eq!(old.partitions.unwrap().nprobe, manifest::DEFAULT_NPROBE);
    json["partitions"]["nprobe"] = 0.into();
    let err = Manifest::parse(&serde_json::to_vec(&json).unwrap()).unwrap_err();
    assert!(err.to_string().contains("nprobe"), "{err}");
    let r = BundleReader::open(&dir.0).unwrap();
    let centroids = r.load_centroids().unwrap().unwrap();
    let all = r.load_shards().unwrap();
    // Entities were renumbered by partition; find one by id to query with its own vector.
    let qi = 1234;
    let q = &v[qi * dim..(qi + 1) * dim];
    let q = &Query::new(q, &m.quantization).unwrap();
    let exhaustive = search::search(q, &all, 10).unwrap();
    assert_eq!(r.entity(exhaustive[0].index).unwrap().id, format!("Q{qi}"));

    let probed = partition::probe(&centroids, q, k).unwrap();
    assert_eq!(probed.len(), k);
    let mut s = Searcher::new(q.clone(), 10);
    for p in &probed {
        for sh in r.load_partition(*p).unwrap() {
            s.add_shard(&sh).unwrap();
        }
    }
    assert_eq!(s.hits(), exhaustive);
    // nprobe = 1 scans only the nearest partition, which holds the query's own entity.
    let p1 = partition::probe(&centroids, q, 1).unwrap();
    let shards = r.load_partition(p1[0]).unwrap();
    let hits = search::search(q, &shards, 1).unwrap();
    assert_eq!(hits[0].index, exhaustive[0].index);
}

#[test]
fn recall_measurement_is_sane() {
    let (n, dim) = (3000, 32);
    let v = unit_vectors(11, n, dim);
    let q: Vec<f32> = v[..20 * dim].to_vec();
    let pts =
        partition::measure_recall(&v, dim, &q, 10, &KMeansOptions::new(16), &[1, 4, 16]).unwrap();
    assert_eq!(pts.len(), 3);
    assert!(pts[0].scanned_fraction < pts[1].scanned_fraction);
    assert!(
        (pts[2].recall_at_k - 1.0).abs() < 1e-12,
        "all partitions = exhaustive"
    );
    assert!((pts[2].scanned_fraction - 1.0).abs() < 1e-12);
    assert!(
        pts[0].top1_agreement > 0.99,
        "queries are entities: nearest partition holds them"
    );
}

#[test]
fn kmeans_is_deterministic_and_unit_norm() {
    let v = unit_vectors(5, 500, 8);
    let a = partition::kmeans(&v, 8, &KMeansOptions::new(7)).unwrap();
    let b = partition::kmeans(&v, 8, &KMeansOptions::new(7)).unwrap();
    assert_eq!(a, b);
    for c in a.chunks_exact(8) {
        let norm: f32 = c.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }
    assert!(partition::kmeans(&v, 8, &KMeansOptions::new(501)).is_err());
}

/// Strategy: `n` unit vectors of dimension `dim`, from a seed (cheap to shrink).
fn vectors_strategy() -> impl Strategy<Value = (u64, usize, usize)> {
    (
        any::<u64>(),
        2usize..40,
        prop::sample::select(vec![8usize, 16, 33, 64, 256]),
    )
}

/// A shard of `v` quantised with `quant`, and the same shard with its refinement attached.
fn plain_and_refined(v: &[f32], quant: &Quantization) -> (Shard, Shard) {
    let dim = quant.dim();
    let n = v.len() / dim;
    let (mut scales, mut rows) = (Vec::new(), vec![0i8; n * dim]);
    let (mut rscales, mut nibbles) = (Vec::new(), vec![0u8; n * layout::refine_row_bytes(dim)]);
    let mut y = vec![0f32; dim];
    for i in 0..n {
        let row = &mut rows[i * dim..(i + 1) * dim];
        let s = quant.encode_row(&v[i * dim..(i + 1) * dim], &mut y, row);
        let w = layout::refine_row_bytes(dim);
        rscales.push(refine::quantize_residual(
            &y,
            row,
            s,
            &mut nibbles[i * w..(i + 1) * w],
        ));
        scales.push(s);
    }
    let bytes = shard::encode(dim, 0, None, &scales, &rows).unwrap();
    let digest = layout::sha256(&bytes);
    let plain = Shard::decode(bytes, dim).unwrap();
    let r = Refinement::decode(
        refine::encode(dim, 0, digest, &rscales, &nibbles).unwrap(),
        dim,
    )
    .unwrap();
    (plain.clone(), plain.with_refinement(r).unwrap())
}

/// Crowded data — entities that are small perturbations of a few prototypes, queries that are
/// noisy copies of entities — where int8 rounding swaps near-tied top-1s: the refinement brings
/// the top-1 agreement with exact f32 search above the issue's 99.5 %, and its scores are those
/// of the refined rows, far closer to exact than the int8 ones.
#[test]
fn refinement_restores_exact_top1_on_crowded_data() {
    let (dim, n, queries) = (64, 3000, 1000);
    let mut rng = SplitMix64::new(11);
    let protos = unit_vectors(3, 5, dim);
    let mut v = Vec::with_capacity(n * dim);
    for i in 0..n {
        let p = &protos[(i % 5) * dim..(i % 5 + 1) * dim];
        let mut x: Vec<f32> = p.iter().map(|a| a + 0.08 * rng.normal() as f32).collect();
        quantize::normalize(&mut x);
        v.extend(x);
    }
    let quant = Quantization::calibrate(&v, dim);
    let (plain, refined) = plain_and_refined(&v, &quant);
    let (mut agree_plain, mut agree_refined) = (0, 0);
    let (mut err_plain, mut err_refined) = (0f32, 0f32);
    for j in 0..queries {
        // A fresh member of a cluster: many entities lie at nearly the same distance from it.
        let p = &protos[(j % 5) * dim..(j % 5 + 1) * dim];
        let mut q: Vec<f32> = p.iter().map(|a| a + 0.08 * rng.normal() as f32).collect();
        quantize::normalize(&mut q);
        let exact = search::exact_f32(&q, &v, 1).unwrap()[0];
        let query = Query::new(&q, &quant).unwrap();
        let a = search::search(&query, [&plain], 1).unwrap()[0];
        let b = search::search(&query, [&refined], 1).unwrap()[0];
        agree_plain += (a.index == exact.index) as usize;
        agree_refined += (b.index == exact.index) as usize;
        let score = |i: u64| {
            let row = &v[i as usize * dim..(i as usize + 1) * dim];
            row.iter().zip(&q).map(|(x, y)| x * y).sum::<f32>()
        };
        err_plain = err_plain.max((a.score - score(a.index)).abs());
        err_refined = err_refined.max((b.score - score(b.index)).abs());
    }
    eprintln!(
        "top-1 agreement: int8 {agree_plain}, refined {agree_refined} of {queries}; worst score error int8 {err_plain}, refined {err_refined}"
    );
    assert!(
        agree_plain * 1000 < queries * 995,
        "the data must be crowded enough for int8 alone to miss the bar ({agree_plain}/{queries})"
    );
    assert!(
        agree_refined * 1000 >= queries * 995,
        "refined top-1 agreement {agree_refined}/{queries} (int8 alone {agree_plain})"
    );
    assert!(
        err_refined * 8.0 < err_plain,
        "refined score error {err_refined} vs int8 {err_plain}"
    );
    // Scoring every row and searching agree: the pruning bound never drops a row that belongs.
    let query = Query::new(&v[..dim], &quant).unwrap();
    let mut all = vec![0f32; n];
    query.score_all(&refined, &mut all).unwrap();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| all[b].total_cmp(&all[a]).then(a.cmp(&b)));
    let hits = search::search(&query, [&refined], 10).unwrap();
    let got: Vec<usize> = hits.iter().map(|h| h.index as usize).collect();
    assert_eq!(got, order[..10].to_vec());
}

#[test]
fn refuses_refinements_that_do_not_match_their_shards() {
    let (files, v, dim) = small_bundle();
    let m = manifest_of(&files);
    let refines: Vec<FileEntry> = m.files_with_role(Role::Refine).cloned().collect();
    assert_eq!(
        refines.len(),
        m.shards().count(),
        "one refinement per shard"
    );
    // A manifest that drops one refinement is inconsistent.
    let mut fewer = m.clone();
    let gone = refines[1].path.clone();
    fewer.files.retain(|f| f.path != gone);
    let mut f = files.clone();
    set_manifest(&mut f, &fewer);
    let err = load_and_search(&f, &v[..dim], 3).unwrap_err();
    assert!(matches!(err, KbError::CountMismatch { .. }), "{err}");
    // Two refinements swapped (each still matching its listed hash and length) are refused by
    // their headers, not used for the wrong rows.
    let mut swapped = m.clone();
    let (a, b) = (refines[0].clone(), refines[1].clone());
    for e in swapped.files.iter_mut() {
        if e.path == a.path {
            (e.path, e.sha256, e.bytes) = (b.path.clone(), b.sha256.clone(), b.bytes);
        } else if e.path == b.path {
            (e.path, e.sha256, e.bytes) = (a.path.clone(), a.sha256.clone(), a.bytes);
        }
    }
    let mut f = files.clone();
    set_manifest(&mut f, &swapped);
    assert!(load_and_search(&f, &v[..dim], 3).is_err());
    // A refinement attached to another shard is refused: of other rows, and of the same rows of
    // other data (accepted before the header named the shard's digest).
    let (plain, _) = plain_and_refined(&v[..10 * dim], &Quantization::identity(dim));
    let (_, other) = plain_and_refined(&v[..11 * dim], &Quantization::identity(dim));
    let r = other.refinement().unwrap().clone();
    assert!(plain.clone().with_refinement(r).is_err());
    let (_, same_rows) = plain_and_refined(&v[dim..11 * dim], &Quantization::identity(dim));
    let r = same_rows.refinement().unwrap().clone();
    match plain.clone().with_refinement(r) {
        Err(KbError::InconsistentManifest(m)) => {
            assert!(m.contains("was written for the shard with sha256"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // And so is the refinement of another bundle's shard, re-hashed in the manifest.
    let other_dir = TempDir::new("other");
    let mut w = BundleWriter::new(
        &other_dir.0,
        dim,
        MODEL,
        options(layout::shard_len(dim, 50)),
    )
    .unwrap();
    let theirs_v = unit_vectors(8, 120, dim);
    w.write_entities((0..120).map(|i| (meta(i), &theirs_v[i * dim..(i + 1) * dim])))
        .unwrap();
    w.add_file(Role::ImageF16, "image_f16.bin", b"weights")
        .unwrap();
    let om = w.finish().unwrap();
    let other_files = read_all(&other_dir, &om);
    let theirs = om.files_with_role(Role::Refine).next().unwrap();
    let mut f = files.clone();
    let mut rehashed = m.clone();
    let ours = rehashed
        .files
        .iter_mut()
        .find(|e| e.path == refines[0].path)
        .unwrap();
    let bytes = other_files[&theirs.path].clone();
    (ours.sha256, ours.bytes) = (layout::sha256_hex(&bytes), bytes.len() as u64);
    f.insert(refines[0].path.clone(), bytes);
    set_manifest(&mut f, &rehashed);
    match load_and_search(&f, &v[..dim], 3) {
        Err(KbError::InconsistentManifest(m)) => assert!(m.contains("was written for"), "{m}"),
        other => panic!("{other:?}"),
    }
    // A residual scale above its row's scale is more than half an int8 step: hostile.
    let refined = plain_and_refined(&v[..10 * dim], &Quantization::identity(dim)).1;
    let mut bytes = refine::encode(
        dim,
        0,
        layout::sha256(plain.bytes()),
        refined.refinement().unwrap().scales(),
        &vec![0u8; 10 * layout::refine_row_bytes(dim)],
    )
    .unwrap();
    let too_big = plain.scales()[3] * 1.5;
    bytes[layout::HEADER_LEN + 12..layout::HEADER_LEN + 16].copy_from_slice(&too_big.to_le_bytes());
    match plain.with_refinement(Refinement::decode(bytes, dim).unwrap()) {
        Err(KbError::MalformedShard { reason, .. }) => {
            assert!(reason.starts_with("row 3 has a residual scale"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_query_whose_scores_could_overflow_is_refused() {
    let dim = 8;
    let q = vec![0.5f32; dim];
    assert!(Query::new(&q, &Quantization::identity(dim)).is_ok());
    // Finite, positive, digest-consistent, and absurd: q · dim_scale times the largest row scale
    // would overflow f32.
    let huge = Quantization::new(vec![0.0; dim], vec![1e33; dim]);
    huge.validate(dim).unwrap();
    match Query::new(&q, &huge) {
        Err(KbError::BadVector { reason, .. }) => assert_eq!(reason, "its scores could overflow"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_model_identity_covers_every_weight_file() {
    let id = |files: &[(Role, &str)]| manifest::weights_identity(files.iter().copied());
    let both = [(Role::ImageF32, "aa"), (Role::ImageF16, "bb")];
    assert_eq!(id(&both), id(&[both[1], both[0]]), "order does not matter");
    assert_ne!(
        id(&both),
        id(&[(Role::ImageF32, "aa"), (Role::ImageF16, "bc")])
    );
    assert_ne!(id(&both), id(&[(Role::ImageF32, "aa")]));
    assert_ne!(
        id(&both),
        id(&[(Role::ImageF32, "bb"), (Role::ImageF16, "aa")])
    );
    // A manifest's identity is that of the weight files it lists, and nothing else.
    let (files, _, _) = small_bundle();
    let m = manifest_of(&files);
    let weights: Vec<(Role, &str)> = m
        .files
        .iter()
        .filter(|f| f.role().is_some_and(Role::is_weights))
        .map(|f| (f.role().unwrap(), f.sha256.as_str()))
        .collect();
    assert_eq!(weights.len(), 1, "the test bundle lists its f16 weights");
    assert_eq!(m.weights_identity(), id(&weights));
    let mut tampered = m.clone();
    tampered
        .files
        .iter_mut()
        .find(|f| f.is(Role::ImageF16))
        .unwrap()
        .sha256 = "00".repeat(32);
    assert_ne!(tampered.weights_identity(), m.weights_identity());
}

proptest! {
    // No regression files: they would land outside src/kb; failures print their minimal input.
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    /// On well-separated data — the f32 top-1 beats the runner-up by more than the int8 error can
    /// move two scores — the int8 search returns the same top-1 as exact f32 search.
    #[test]
    fn quantised_top1_equals_exact_on_separated_data(
        (seed, n, dim) in vectors_strategy(),
        pick in any::<prop::sample::Index>(),
        noise in 0.0f32..0.3,
    ) {
        let v = unit_vectors(seed, n, dim);
        let target = pick.index(n);
        let mut rng = SplitMix64::new(seed ^ 1);
        let mut q: Vec<f32> = v[target * dim..(target + 1) * dim]
            .iter()
            .map(|x| x + noise * rng.normal() as f32 / (dim as f32).sqrt())
            .collect();
        quantize::normalize(&mut q);
        let exact = search::exact_f32(&q, &v, 2).unwrap();
        // Worst-case score error of a row: ‖q‖·‖e‖ ≤ √dim · scale/2 (round-to-nearest), plus the
        // query's int16 rounding (≤ √dim · max|q|/2/32767 times ‖row‖ ≈ 1).
        let quant = Quantization::identity(dim);
        let (scales, rows) = quant.encode_rows(&v);
        let row_err = scales.iter().fold(0f32, |m, s| m.max(*s)) * 0.5 * (dim as f32).sqrt();
        let q_err = (dim as f32).sqrt() * 0.5 / 32767.0;
        let margin = exact[0].score - exact[1].score;
        prop_assume!(margin > 2.0 * (row_err + q_err) + 1e-4);
        let s = Shard::decode(shard::encode(dim, 0, None, &scales, &rows).unwrap(), dim).unwrap();
        let got = search::search(&Query::new(&q, &quant).unwrap(), [&s], 1).unwrap();
        prop_assert_eq!(got[0].index, exact[0].index);
    }

    /// Any finite-but-absurd value written into a header field or a scale of a shard or of a
    /// refinement file, with the manifest entry re-hashed to match (so only the parsers stand
    /// guard), is refused — or, when the value happens to be the one already there, the ranking is
    /// exactly the intact bundle's. Scales: above MAX_SCALE, negative, infinite, NaN, and for a
    /// residual, anything above its row's scale.
    #[test]
    fn absurd_header_values_are_refused(
        refinement in any::<bool>(),
        field in 0usize..9,
        row in any::<prop::sample::Index>(),
        word in prop_oneof![any::<u32>(), 0u32..4, Just(u32::MAX), Just(16), Just(50), Just(2)],
        absurd in prop_oneof![
            layout::MAX_SCALE * 1.0001..f32::MAX,
            -f32::MAX..-1e-38f32,
            Just(f32::INFINITY),
            Just(f32::NEG_INFINITY),
            Just(f32::NAN),
        ],
        factor in 1.01f32..1e4,
    ) {
        // A shard is changed in a bundle without refinements: a refinement would refuse any
        // change of its shard by digest, and hide whether the shard's own checks hold.
        thread_local! {
            static BUNDLES: [MemoryBundle; 2] =
                [small_bundle_refined(false), small_bundle_refined(true)];
        }
        BUNDLES.with(|bundles| {
            let (files, v, dim) = &bundles[usize::from(refinement)];
            let q = &v[7 * dim..8 * dim];
            let want = load_and_search(files, q, 120).unwrap();
            let m = manifest_of(files);
            let shard = m.shards().next().unwrap().clone();
            let path = if refinement {
                m.refinement_for(&shard).unwrap().path.clone()
            } else {
                shard.path.clone()
            };
            let mut bytes = files[&path].clone();
            let count = layout::le_u32(&bytes, 16) as usize;
            let i = row.index(count);
            let scale_at = layout::HEADER_LEN + 4 * i;
            match field {
                // version, dim, count, partition, first (low and high words), the tail.
                0..=5 => {
                    let at = [8, 12, 16, 20, 24, 28][field];
                    bytes[at..at + 4].copy_from_slice(&word.to_le_bytes());
                }
                6 => {
                    let at = 32 + 4 * (word as usize % 8);
                    bytes[at..at + 4].copy_from_slice(&word.to_le_bytes());
                }
                7 => bytes[scale_at..scale_at + 4].copy_from_slice(&absurd.to_le_bytes()),
                _ => {
                    // A residual scale above its row's (for a shard: the row's scale times
                    // `factor` beyond MAX_SCALE, an absurd value again).
                    let s = Shard::parse(files[&shard.path].clone(), &shard, *dim).unwrap();
                    let value = if refinement {
                        s.scales()[i].max(1e-6) * factor
                    } else {
                        layout::MAX_SCALE * factor
                    };
                    bytes[scale_at..scale_at + 4].copy_from_slice(&value.to_le_bytes());
                }
            }
            let unchanged = bytes == files[&path];
            let mut f = files.clone();
            replace_rehashed(&mut f, &path, bytes);
            match load_and_search(&f, q, 120) {
                Err(_) => prop_assert!(!unchanged, "the intact bundle was refused"),
                Ok(got) => {
                    prop_assert!(unchanged, "field {} of {} accepted", field, path);
                    prop_assert_eq!(got, want);
                }
            }
            Ok(())
        })?;
    }

    /// Any single-byte change, truncation or extension of any file of a bundle (the manifest
    /// included) is refused or leaves the ranking exactly as it was — never a different ranking.
    /// k = all entities, so every metadata file is read and verified too.
    #[test]
    fn corrupted_bundles_are_refused(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        mutation in 0u8..4,
        value in any::<u8>(),
    ) {
        thread_local! {
            static BUNDLE: MemoryBundle = small_bundle();
        }
        BUNDLE.with(|(files, v, dim)| {
            let q = &v[7 * dim..8 * dim];
            let want = load_and_search(files, q, 120).unwrap();
            let mut paths: Vec<&String> = files.keys().collect();
            paths.sort();
            let path = paths[which.index(paths.len())].clone();
            let mut f = files.clone();
            let bytes = f.get_mut(&path).unwrap();
            let i = at.index(bytes.len());
            let changed = match mutation {
                0 => { let old = bytes[i]; bytes[i] = value; old != value }
                1 => { bytes.truncate(i); true }
                2 => { bytes.push(value); true }
                _ => { bytes[i] ^= 1 << (value % 8); true }
            };
            match load_and_search(&f, q, 120) {
                Err(_) => {}
                Ok(got) => {
                    // Only harmless edits of the manifest's JSON (whitespace, a field's order) can
                    // be accepted, and then the ranking must be unchanged.
                    prop_assert!(!changed || path == manifest::MANIFEST_NAME,
                        "corrupted {} accepted", path);
                    prop_assert_eq!(got, want);
                }
            }
            Ok(())
        })?;
    }
}
