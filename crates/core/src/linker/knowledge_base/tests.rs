//! A partitioned bundle written to a folder and searched by partition through a transport that
//! records what it hands out: only the probed partitions and the shown records are fetched, a
//! second query near the first fetches nothing, a damaged partition is refused by name while the
//! others answer, and residency stays bounded.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use photolink_kb::quantize::normalize;
use photolink_kb::rng::SplitMix64;
use photolink_kb::synthetic::ClusteredVectors;
use photolink_kb::{
    BundleWriter, EntityMeta, FileEntry, KMeansOptions, Manifest, Role, Shard, WriterOptions,
};

use super::{KnowledgeBase, RESIDENT_PROBES};
use crate::linker::folder::Folder;
use crate::linker::{LinkError, LoadPhase, Transport};

const DIM: usize = 32;
const ENTITIES: usize = 3000;
const PARTITIONS: usize = 50;
const NPROBE: usize = 4;
const K: usize = 5;

/// A folder removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("photolink-kb-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Unit vectors around 60 random centres, as real KBs cluster.
fn clustered(seed: u64, n: usize) -> Vec<f32> {
    let mut vectors = ClusteredVectors::new(DIM, 60, 0.5, seed);
    let mut out = vec![0f32; n * DIM];
    for row in out.chunks_exact_mut(DIM) {
        vectors.next_into(row);
    }
    out
}

fn write_bundle(dir: &Path, vectors: &[f32]) -> Manifest {
    let options = WriterOptions {
        partitions: Some(KMeansOptions::new(PARTITIONS)),
        nprobe: NPROBE as u32,
        ..WriterOptions::default()
    };
    let mut writer = BundleWriter::new(dir, DIM, "test-model", options).unwrap();
    for (i, v) in vectors.chunks_exact(DIM).enumerate() {
        let meta = EntityMeta {
            id: format!("Q{i}"),
            name: format!("Entity {i}"),
            description: String::new(),
            url: None,
        };
        writer.push(meta, v).unwrap();
    }
    writer.finish().unwrap()
}

/// A folder transport that records the paths it hands out.
struct Recording {
    folder: Folder,
    requested: Rc<RefCell<Vec<String>>>,
}

impl Transport for Recording {
    async fn manifest(&mut self) -> Result<Manifest, LinkError> {
        self.folder.manifest().await
    }

    async fn file(&mut self, entry: &FileEntry, phase: LoadPhase) -> Result<Vec<u8>, LinkError> {
        self.requested.borrow_mut().push(entry.path.clone());
        self.folder.file(entry, phase).await
    }
}

/// A partitioned bundle of clustered vectors (seeded) in a scratch folder, opened to be searched
/// by partition with only its centroids loaded.
struct Fixture {
    scratch: Scratch,
    vectors: Vec<f32>,
    manifest: Manifest,
    kb: KnowledgeBase,
    transport: Recording,
    /// What the transport has handed out since the centroids.
    requested: Rc<RefCell<Vec<String>>>,
}

fn fixture(name: &str, seed: u64) -> Fixture {
    let scratch = Scratch::new(name);
    let vectors = clustered(seed, ENTITIES);
    let manifest = write_bundle(&scratch.0, &vectors);
    let requested = Rc::new(RefCell::new(Vec::new()));
    let mut transport = Recording {
        folder: Folder::open(&scratch.0).unwrap(),
        requested: requested.clone(),
    };
    let read = pollster::block_on(transport.manifest()).unwrap();
    let entry = read.centroids().unwrap().clone();
    let bytes = pollster::block_on(transport.file(&entry, LoadPhase::Partitions)).unwrap();
    let centroids = Shard::parse(bytes, &entry, DIM).unwrap();
    let nprobe = read.partitions.as_ref().unwrap().nprobe as usize;
    let kb = KnowledgeBase::by_partition(read, centroids, nprobe).unwrap();
    requested.borrow_mut().clear();
    Fixture {
        scratch,
        vectors,
        manifest,
        kb,
        transport,
        requested,
    }
}

/// The bundle in `dir` with everything loaded, searched exhaustively.
fn whole(dir: &Path) -> KnowledgeBase {
    let reader = photolink_kb::BundleReader::open(dir).unwrap();
    let mut kb = KnowledgeBase::whole(reader.manifest().clone());
    for entry in reader.manifest().shards() {
        kb.add(
            reader.load_shard(entry).unwrap(),
            Some(reader.load_metadata(entry).unwrap()),
        );
    }
    kb
}

fn ids(kb: &KnowledgeBase, vector: &[f32]) -> Vec<String> {
    kb.matches(vector, K)
        .unwrap()
        .into_iter()
        .map(|(m, _)| m.id.clone())
        .collect()
}

fn count(requested: &[String], prefix: &str) -> usize {
    requested.iter().filter(|p| p.contains(prefix)).count()
}

#[test]
fn a_query_fetches_only_its_partitions_and_shown_records() {
    let Fixture {
        scratch,
        vectors,
        manifest,
        mut kb,
        mut transport,
        requested,
    } = fixture("probe", 1);
    let shards = manifest.shards().count();
    assert!(shards >= PARTITIONS, "one shard per partition at least");
    let exhaustive = whole(&scratch.0);

    let mut agree = 0;
    let queries = 20;
    for q in 0..queries {
        // An entity's own vector: its partition holds it, so it must come first.
        let entity = q * 97 % ENTITIES;
        let vector = &vectors[entity * DIM..(entity + 1) * DIM];
        kb.evict();
        requested.borrow_mut().clear();
        let refused = pollster::block_on(kb.fetch_for(&mut transport, vector, K)).unwrap();
        assert!(refused.is_empty(), "{refused:?}");
        let fetched = requested.borrow().clone();
        let shard_files = count(&fetched, "shard-");
        assert!(
            shard_files <= NPROBE * shards.div_ceil(PARTITIONS) + NPROBE,
            "{shard_files} shard files fetched for {NPROBE} of {PARTITIONS} partitions"
        );
        assert_eq!(
            count(&fetched, "refine-"),
            shard_files,
            "one refinement per shard"
        );
        assert!(
            count(&fetched, "meta-") <= K,
            "records beyond the {K} shown: {fetched:?}"
        );
        let got = ids(&kb, vector);
        assert_eq!(
            got[0],
            format!("Q{entity}"),
            "an entity's own vector finds it first"
        );
        agree += (got == ids(&exhaustive, vector)) as usize;

        // The same photo again: everything is resident, nothing is fetched.
        requested.borrow_mut().clear();
        pollster::block_on(kb.fetch_for(&mut transport, vector, K)).unwrap();
        assert_eq!(requested.borrow().len(), 0, "{:?}", requested.borrow());
    }
    // Partitioned search is approximate; on clustered vectors its top 5 nearly always agrees.
    assert!(
        agree * 10 >= queries * 8,
        "top-{K} agreed with exhaustive search {agree}/{queries}"
    );
    assert!(
        kb.loaded() < kb.total(),
        "{} of {} loaded",
        kb.loaded(),
        kb.total()
    );
}

#[test]
fn a_damaged_partition_is_refused_by_name_and_the_others_answer() {
    let Fixture {
        scratch,
        vectors,
        mut kb,
        mut transport,
        ..
    } = fixture("damaged", 2);
    let vector = &vectors[..DIM];
    let query = photolink_kb::Query::new(vector, &kb.manifest().quantization).unwrap();
    let probed = kb.probed(&query).unwrap().unwrap();
    // The nearest partition's first shard loses a byte's worth of truth.
    let victim = kb
        .manifest()
        .partition_shards(probed[0])
        .next()
        .unwrap()
        .clone();
    let path = scratch.0.join(&victim.path);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x5a;
    std::fs::write(&path, bytes).unwrap();

    let refused = pollster::block_on(kb.fetch_for(&mut transport, vector, K)).unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].path, victim.path);
    assert!(
        refused[0].reason.contains("sha256"),
        "{}",
        refused[0].reason
    );
    let matches = kb.matches(vector, K).unwrap();
    assert_eq!(matches.len(), K, "the other partitions still answer");
    let first = victim.first.unwrap();
    let range = first..first + victim.count.unwrap();
    for (m, _) in &matches {
        let index: u64 = m.id[1..].parse().unwrap();
        assert!(
            !range.contains(&index),
            "{} comes from the refused shard",
            m.id
        );
    }
}

#[test]
fn residency_is_bounded_and_evicted_partitions_come_back() {
    let Fixture {
        // Bound, not `..`: the folder must outlive the test's reads.
        scratch: _scratch,
        vectors,
        mut kb,
        mut transport,
        requested,
        ..
    } = fixture("evict", 3);
    let bound = NPROBE * RESIDENT_PROBES;
    let mut rng = SplitMix64::new(9);
    for _ in 0..60 {
        let mut v: Vec<f32> = (0..DIM).map(|_| rng.normal() as f32).collect();
        normalize(&mut v);
        kb.evict();
        pollster::block_on(kb.fetch_for(&mut transport, &v, K)).unwrap();
        let resident: std::collections::HashSet<u32> =
            kb.shards.values().filter_map(Shard::partition).collect();
        assert!(
            resident.len() <= bound + NPROBE,
            "{} partitions resident",
            resident.len()
        );
        assert_eq!(kb.matches(&v, K).unwrap().len(), K);
    }
    // The first query again: its partitions were evicted, so they are fetched anew and answer.
    let vector = &vectors[..DIM];
    requested.borrow_mut().clear();
    kb.evict();
    pollster::block_on(kb.fetch_for(&mut transport, vector, K)).unwrap();
    assert_eq!(ids(&kb, vector)[0], "Q0");
    let role = |p: &String| {
        kb.manifest()
            .files
            .iter()
            .find(|f| &f.path == p)
            .map(|f| f.role.clone())
    };
    assert!(
        requested
            .borrow()
            .iter()
            .all(|p| role(p).is_some_and(|r| r != Role::Centroids.name())),
        "centroids are never fetched again"
    );
}
