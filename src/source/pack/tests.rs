use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use flate2::write::ZlibEncoder;
use flate2::Compression;
use git2::{ObjectType, Oid, Repository, Signature, Time};

use super::*;

/// A repository with `versions` commits of a few files that change a little each time, so the
/// pack builder stores most versions as deltas. Objects stay loose too; only the pack is read.
fn history_repo(dir: &Path, versions: usize) -> Repository {
    let repo = Repository::init(dir).expect("init");
    {
        let mut parent: Option<Oid> = None;
        for v in 0..versions {
            let mut tb = repo.treebuilder(None).expect("treebuilder");
            let files: Vec<(String, Vec<u8>)> = vec![
                ("config.txt".into(), lines(v, 40, "key")),
                ("notes.md".into(), lines(v / 2, 120, "note")),
                ("big.txt".into(), lines(v, 2000, "row")),
                ("const.txt".into(), b"never changes\n".to_vec()),
                (format!("new-{v}.txt"), format!("file number {v}\n").into_bytes()),
            ];
            for (name, data) in &files {
                let blob = repo.blob(data).expect("blob");
                tb.insert(name, blob, 0o100644).expect("insert");
            }
            let tree = repo.find_tree(tb.write().expect("tree")).expect("find tree");
            let sig = Signature::new("T", "t@example.com", &Time::new(1_700_000_000 + v as i64, 0)).expect("sig");
            let parents: Vec<git2::Commit<'_>> = parent.iter().map(|p| repo.find_commit(*p).expect("parent")).collect();
            let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
            let c = repo
                .commit(Some("HEAD"), &sig, &sig, &format!("v{v}"), &tree, &refs)
                .expect("commit");
            parent = Some(c);
        }
        write_pack(&repo);
    }
    repo
}

/// `n` lines of which the ones at multiples of 7 (plus one per version) change with `v`.
fn lines(v: usize, n: usize, word: &str) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..n {
        if i % 7 == 0 || i == v % n {
            s.push_str(&format!("{word} {i} = value {i} version {v}\n"));
        } else {
            s.push_str(&format!("{word} {i} = constant line {i}\n"));
        }
    }
    s.into_bytes()
}

/// Packs everything HEAD reaches with libgit2's pack builder (which writes OFS deltas).
fn write_pack(repo: &Repository) {
    let mut pb = repo.packbuilder().expect("packbuilder");
    let mut walk = repo.revwalk().expect("revwalk");
    walk.push_head().expect("head");
    pb.insert_walk(&mut walk).expect("insert");
    let dir = repo.path().join("objects").join("pack");
    std::fs::create_dir_all(&dir).expect("pack dir");
    pb.write(&dir, 0o644).expect("write pack");
}

fn all_blobs(repo: &Repository) -> HashSet<Oid> {
    let odb = repo.odb().expect("odb");
    let mut all = Vec::new();
    odb.foreach(|o| {
        all.push(*o);
        true
    })
    .expect("foreach");
    all.into_iter()
        .filter(|o| matches!(odb.read_header(*o), Ok((_, ObjectType::Blob))))
        .collect()
}

/// What a test visit keeps of each blob.
#[derive(Debug, Clone)]
struct Seen {
    size: u64,
    data: Option<Vec<u8>>,
    delta: Option<(Oid, Vec<DeltaOp>)>,
}

fn visit(set: &PackSet, want: &(dyn Fn(&Oid) -> bool + Sync), max_size: u64) -> (Vec<(Oid, Seen)>, Vec<PackError>) {
    set.visit_blobs(
        want,
        max_size,
        || (),
        |_, b| Seen {
            size: b.size,
            data: b.data.map(<[u8]>::to_vec),
            delta: b.delta.map(|d| (d.base, d.ops.to_vec())),
        },
    )
}

/// Checks that `ops` tile `blob` in order and that every copy matches `base`.
fn check_ops(blob: &[u8], base: &[u8], ops: &[DeltaOp]) {
    let mut at = 0;
    for op in ops {
        match *op {
            DeltaOp::Copy { src, dst, len } => {
                assert_eq!(dst, at);
                assert_eq!(&base[src..src + len], &blob[dst..dst + len]);
                at += len;
            }
            DeltaOp::Insert { dst, len } => {
                assert_eq!(dst, at);
                assert!((1..=127).contains(&len));
                at += len;
            }
        }
    }
    assert_eq!(at, blob.len());
}

#[test]
fn every_blob_once_with_libgit2_bytes_and_ops_that_rebuild_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = history_repo(dir.path(), 30);
    let (set, errors) = PackSet::open(repo.path());
    assert!(errors.is_empty(), "{errors:?}");
    let (seen, errors) = visit(&set, &|_| true, u64::MAX);
    assert!(errors.is_empty(), "{errors:?}");
    let ids: Vec<Oid> = seen.iter().map(|s| s.0).collect();
    let unique: HashSet<Oid> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a blob was visited twice");
    assert_eq!(unique, all_blobs(&repo));
    let mut deltas = 0;
    for (oid, s) in &seen {
        let expected = repo.find_blob(*oid).expect("blob");
        assert_eq!(s.data.as_deref(), Some(expected.content()), "{oid}");
        assert_eq!(s.size, expected.content().len() as u64);
        if let Some((base, ops)) = &s.delta {
            deltas += 1;
            let base = repo.find_blob(*base).expect("base");
            check_ops(expected.content(), base.content(), ops);
        }
    }
    assert!(
        deltas >= 20,
        "only {deltas} deltas: the test would not cover delta chains"
    );
    assert!(set.contains(&ids[0]));
    assert!(!set.contains(&Oid::hash_object(ObjectType::Blob, b"in no pack").expect("hash")));
}

#[test]
fn want_filters_and_max_size_skips_only_leaves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = history_repo(dir.path(), 24);
    let (set, _) = PackSet::open(repo.path());
    let all = all_blobs(&repo);
    let wanted: HashSet<Oid> = all.iter().copied().filter(|o| o.as_bytes()[0] % 2 == 0).collect();
    assert!(!wanted.is_empty() && wanted.len() < all.len());
    let (seen, errors) = visit(&set, &|o| wanted.contains(o), u64::MAX);
    assert!(errors.is_empty(), "{errors:?}");
    let got: HashSet<Oid> = seen.iter().map(|s| s.0).collect();
    assert_eq!(got, wanted);
    assert_eq!(seen.len(), wanted.len());

    // big.txt versions are ~50 KB; everything else is small.
    let max = 10_000;
    let (seen, errors) = visit(&set, &|_| true, max);
    assert!(errors.is_empty(), "{errors:?}");
    let bases: HashSet<Oid> = seen.iter().filter_map(|s| s.1.delta.as_ref().map(|d| d.0)).collect();
    let mut skipped = 0;
    for (oid, s) in &seen {
        let content = repo.find_blob(*oid).expect("blob").content().to_vec();
        assert_eq!(s.size, content.len() as u64);
        match &s.data {
            Some(d) => assert_eq!(d, &content),
            None => {
                skipped += 1;
                assert!(s.size > max);
                assert!(!bases.contains(oid), "a delta base was not inflated");
            }
        }
        if s.size <= max {
            assert!(s.data.is_some());
        }
    }
    assert!(skipped > 0);
}

#[test]
fn empty_and_missing_pack_dirs_are_empty_sets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (set, errors) = PackSet::open(dir.path());
    assert!(errors.is_empty());
    assert_eq!(set.object_count(), 0);
    let (seen, errors) = visit(&set, &|_| true, u64::MAX);
    assert!(seen.is_empty() && errors.is_empty());
}

#[test]
fn sha256_repositories_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("config"),
        "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tobjectFormat = sha256\n",
    )
    .expect("config");
    let (set, errors) = PackSet::open(dir.path());
    assert_eq!(set.object_count(), 0);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("SHA-256"), "{errors:?}");
}

// ---- Hand-made packs -------------------------------------------------------------------------

/// One entry of a hand-made pack.
enum Obj<'a> {
    Blob(&'a [u8]),
    /// A REF_DELTA against the given id, with the delta bytes and the id it rebuilds to.
    Ref(Oid, Vec<u8>, Oid),
    /// An OFS_DELTA against the entry with this index in the same pack.
    Ofs(usize, Vec<u8>, Oid),
}

fn blob_id(data: &[u8]) -> Oid {
    Oid::hash_object(ObjectType::Blob, data).expect("hash")
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    z.write_all(data).expect("compress");
    z.finish().expect("compress")
}

fn type_size(kind: u8, size: usize) -> Vec<u8> {
    let mut out = vec![(kind << 4) | (size & 15) as u8];
    let mut rest = size >> 4;
    while rest > 0 {
        *out.last_mut().expect("one byte") |= 0x80;
        out.push((rest & 0x7f) as u8);
        rest >>= 7;
    }
    out
}

fn varint(mut v: usize, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A delta in git's format.
enum Op<'a> {
    Copy(usize, usize),
    Insert(&'a [u8]),
}

fn delta(source: usize, target: usize, ops: &[Op<'_>]) -> Vec<u8> {
    let mut d = Vec::new();
    varint(source, &mut d);
    varint(target, &mut d);
    for op in ops {
        match op {
            Op::Copy(off, len) => {
                let at = d.len();
                d.push(0x80);
                for k in 0..4 {
                    let b = (off >> (8 * k)) as u8;
                    if b != 0 {
                        d[at] |= 1 << k;
                        d.push(b);
                    }
                }
                // A length of 0x10000 is written as no length bytes at all.
                let len = if *len == 0x10000 { 0 } else { *len };
                for k in 0..3 {
                    let b = (len >> (8 * k)) as u8;
                    if b != 0 {
                        d[at] |= 0x10 << k;
                        d.push(b);
                    }
                }
            }
            Op::Insert(bytes) => {
                d.push(bytes.len() as u8);
                d.extend_from_slice(bytes);
            }
        }
    }
    d
}

/// Writes `pack-<name>.pack` and `.idx` into `dir` and returns each object's id.
fn write_hand_pack(dir: &Path, name: &str, objs: &[Obj<'_>]) -> Vec<Oid> {
    let mut pack = b"PACK".to_vec();
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&(objs.len() as u32).to_be_bytes());
    let mut offsets = Vec::new();
    let mut ids = Vec::new();
    for obj in objs {
        let off = pack.len();
        offsets.push(off);
        match obj {
            Obj::Blob(data) => {
                pack.extend(type_size(OBJ_BLOB, data.len()));
                pack.extend(zlib(data));
                ids.push(blob_id(data));
            }
            Obj::Ref(base, d, id) => {
                pack.extend(type_size(OBJ_REF_DELTA, d.len()));
                pack.extend_from_slice(base.as_bytes());
                pack.extend(zlib(d));
                ids.push(*id);
            }
            Obj::Ofs(base, d, id) => {
                pack.extend(type_size(OBJ_OFS_DELTA, d.len()));
                let mut dist = off - offsets[*base];
                let mut enc = vec![(dist & 0x7f) as u8];
                dist >>= 7;
                while dist > 0 {
                    dist -= 1;
                    enc.push(0x80 | (dist & 0x7f) as u8);
                    dist >>= 7;
                }
                enc.reverse();
                pack.extend(enc);
                pack.extend(zlib(d));
                ids.push(*id);
            }
        }
    }
    // Not a real SHA-1 of the pack: the reader only compares it with the index's copy.
    let sum = blob_id(&pack);
    pack.extend_from_slice(sum.as_bytes());
    let mut order: Vec<usize> = (0..objs.len()).collect();
    order.sort_by_key(|&i| ids[i]);
    let mut idx = IDX_MAGIC.to_vec();
    idx.extend_from_slice(&2u32.to_be_bytes());
    for b in 0..256usize {
        let n = ids.iter().filter(|id| (id.as_bytes()[0] as usize) <= b).count() as u32;
        idx.extend_from_slice(&n.to_be_bytes());
    }
    for &i in &order {
        idx.extend_from_slice(ids[i].as_bytes());
    }
    for _ in &order {
        idx.extend_from_slice(&0u32.to_be_bytes());
    }
    for &i in &order {
        idx.extend_from_slice(&(offsets[i] as u32).to_be_bytes());
    }
    idx.extend_from_slice(sum.as_bytes());
    idx.extend_from_slice(&[0u8; HASH_LEN]);
    std::fs::create_dir_all(dir).expect("pack dir");
    std::fs::write(dir.join(format!("pack-{name}.pack")), pack).expect("pack");
    std::fs::write(dir.join(format!("pack-{name}.idx")), idx).expect("idx");
    ids
}

#[test]
fn ref_deltas_across_packs_and_missing_bases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let packs = dir.path().join("objects").join("pack");
    // 70,000 bytes, so a copy of 0x10000 bytes (encoded with no size bytes) fits.
    let base: Vec<u8> = (0..70_000u32).map(|i| b"abcdefghij\n"[(i % 11) as usize]).collect();
    let ids_a = write_hand_pack(&packs, "a", &[Obj::Blob(&base)]);

    let mut v1 = base[..0x10000].to_vec();
    v1.extend_from_slice(b"NEW TAIL\n");
    let d1 = delta(base.len(), v1.len(), &[Op::Copy(0, 0x10000), Op::Insert(b"NEW TAIL\n")]);
    let mut v2 = b"head ".to_vec();
    v2.extend_from_slice(&v1[100..300]);
    let d2 = delta(v1.len(), v2.len(), &[Op::Insert(b"head "), Op::Copy(100, 200)]);
    let v3 = v2[..5].to_vec();
    let d3 = delta(v2.len(), v3.len(), &[Op::Copy(0, 5)]);
    let missing = blob_id(b"not stored anywhere");
    let orphan = blob_id(b"orphan");
    let orphan_child = blob_id(b"orphan child");
    let ids_b = write_hand_pack(
        &packs,
        "b",
        &[
            // v1: REF_DELTA against the blob in pack a.
            Obj::Ref(ids_a[0], d1, blob_id(&v1)),
            // v2: REF_DELTA against v1, in this pack.
            Obj::Ref(blob_id(&v1), d2, blob_id(&v2)),
            // v3: OFS_DELTA against v2.
            Obj::Ofs(1, d3, blob_id(&v3)),
            Obj::Ref(missing, delta(19, 6, &[Op::Insert(b"orphan")]), orphan),
            Obj::Ofs(3, delta(6, 12, &[Op::Insert(b"orphan child")]), orphan_child),
        ],
    );
    let (set, errors) = PackSet::open(dir.path());
    assert!(errors.is_empty(), "{errors:?}");
    assert!(set.contains(&ids_a[0]) && set.contains(&ids_b[2]) && !set.contains(&missing));
    let (seen, errors) = visit(&set, &|_| true, u64::MAX);
    let seen: HashMap<Oid, Seen> = seen.into_iter().collect();
    let expect = [(&base, ids_a[0]), (&v1, ids_b[0]), (&v2, ids_b[1]), (&v3, ids_b[2])];
    assert_eq!(seen.len(), expect.len());
    for (data, id) in expect {
        assert_eq!(seen[&id].data.as_deref(), Some(&data[..]));
    }
    assert_eq!(seen[&ids_b[0]].delta.as_ref().map(|d| d.0), Some(ids_a[0]));
    check_ops(&v1, &base, &seen[&ids_b[0]].delta.as_ref().expect("delta").1);
    check_ops(&v3, &v2, &seen[&ids_b[2]].delta.as_ref().expect("delta").1);
    let failed: Vec<String> = errors.iter().map(|e| e.what.clone()).collect();
    assert_eq!(failed.len(), 2, "{errors:?}");
    assert!(failed.contains(&orphan.to_string()) && failed.contains(&orphan_child.to_string()));
}

#[test]
fn bad_deltas_are_errors_for_the_object_and_its_dependants() {
    let base = b"0123456789".to_vec();
    let cases: Vec<(&str, Vec<u8>, usize)> = vec![
        ("op 0", vec![10, 3, 0], 3),
        ("copy past base", delta(10, 8, &[Op::Copy(5, 8)]), 8),
        ("wrong source size", delta(11, 3, &[Op::Copy(0, 3)]), 3),
        ("too long", delta(10, 3, &[Op::Copy(0, 5)]), 3),
        ("too short", delta(10, 5, &[Op::Copy(0, 3)]), 5),
        ("truncated insert", vec![10, 5, 5, b'a'], 5),
        ("truncated copy", vec![10, 5, 0x91], 5),
        ("truncated header", vec![0x80], 0),
    ];
    for (what, d, _) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let packs = dir.path().join("objects").join("pack");
        let bad = blob_id(format!("bad {what}").as_bytes());
        let child = blob_id(format!("child {what}").as_bytes());
        write_hand_pack(
            &packs,
            "x",
            &[
                Obj::Blob(&base),
                Obj::Ofs(0, d, bad),
                Obj::Ofs(1, delta(3, 1, &[Op::Copy(0, 1)]), child),
            ],
        );
        let (set, errors) = PackSet::open(dir.path());
        assert!(errors.is_empty(), "{what}: {errors:?}");
        let (seen, errors) = visit(&set, &|_| true, u64::MAX);
        assert_eq!(seen.len(), 1, "{what}: only the base is readable");
        let failed: HashSet<String> = errors.iter().map(|e| e.what.clone()).collect();
        assert_eq!(
            failed,
            HashSet::from([bad.to_string(), child.to_string()]),
            "{what}: {errors:?}"
        );
    }
}

// ---- Corruption ----------------------------------------------------------------------------

/// A small packed repository: its pack and index bytes, and every blob's content.
fn small_pack() -> (tempfile::TempDir, PathBuf, PathBuf, HashMap<Oid, Vec<u8>>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = Repository::init_bare(dir.path().join("src.git")).expect("init");
    let mut parent: Option<Oid> = None;
    for v in 0..6 {
        let mut tb = repo.treebuilder(None).expect("treebuilder");
        let blob = repo.blob(&lines(v, 400, "k")).expect("blob");
        tb.insert("f.txt", blob, 0o100644).expect("insert");
        let tree = repo.find_tree(tb.write().expect("tree")).expect("tree");
        let sig = Signature::new("T", "t@example.com", &Time::new(1_700_000_000 + v as i64, 0)).expect("sig");
        let parents: Vec<git2::Commit<'_>> = parent.iter().map(|p| repo.find_commit(*p).expect("parent")).collect();
        let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        parent = Some(
            repo.commit(Some("HEAD"), &sig, &sig, "c", &tree, &refs)
                .expect("commit"),
        );
    }
    write_pack(&repo);
    let blobs = all_blobs(&repo)
        .into_iter()
        .map(|o| (o, repo.find_blob(o).expect("blob").content().to_vec()))
        .collect();
    let pack_dir = repo.path().join("objects").join("pack");
    let find = |ext: &str| {
        std::fs::read_dir(&pack_dir)
            .expect("pack dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == ext))
            .expect("pack file")
    };
    let (pack, idx) = (find("pack"), find("idx"));
    (dir, pack, idx, blobs)
}

/// What a visit of a corrupted repository produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// Some error was reported.
    flagged: bool,
    /// Some blob was neither visited nor reported (a caller falls back to libgit2 for it).
    missing: bool,
    /// Blobs read with the wrong content. Without SHA-1 checks this can happen: a bit flip in
    /// deflate data now and then yields other bytes with the same Adler-32 (zlib itself
    /// accepts them too).
    wrong: usize,
}

/// Opens `git_dir` and visits the blobs, wanted by id as a scan does (a corrupt type can make
/// a commit look like a blob). With `trusted_ids`, no unknown id may show up.
fn check_corrupt(git_dir: &Path, blobs: &HashMap<Oid, Vec<u8>>, trusted_ids: bool) -> Outcome {
    let (set, mut errors) = PackSet::open(git_dir);
    let (seen, more) = if trusted_ids {
        visit(&set, &|o| blobs.contains_key(o), u64::MAX)
    } else {
        visit(&set, &|_| true, u64::MAX)
    };
    errors.extend(more);
    let mut wrong = 0;
    for (oid, s) in &seen {
        match blobs.get(oid) {
            Some(content) => wrong += usize::from(s.data.as_deref() != Some(&content[..])),
            None => assert!(!trusted_ids, "unknown blob {oid} from an intact index"),
        }
    }
    Outcome {
        flagged: !errors.is_empty(),
        missing: seen.len() < blobs.len(),
        wrong,
    }
}

/// Flips one bit of every byte of `pack`, then truncates it at every length.
fn corrupt_every_byte(git_dir: &Path, pack: &Path, blobs: &HashMap<Oid, Vec<u8>>) {
    let original = std::fs::read(pack).expect("pack");
    // Commits and trees are never inflated, so only flips in blob entries can be noticed.
    let (set, _) = PackSet::open(git_dir);
    let blob_bytes: Vec<(usize, usize)> = set
        .entries
        .iter()
        .filter(|e| blobs.contains_key(&e.oid))
        .map(|e| (e.offset as usize, e.end as usize))
        .collect();
    assert!(set
        .entries
        .iter()
        .any(|e| blobs.contains_key(&e.oid) && (e.kind == OBJ_OFS_DELTA || e.kind == OBJ_REF_DELTA)));
    drop(set);
    let (mut in_blobs, mut noticed, mut wrong) = (0, 0, 0);
    for at in 0..original.len() {
        let mut bad = original.clone();
        bad[at] ^= 1 << (at % 8);
        std::fs::write(pack, &bad).expect("write");
        let o = check_corrupt(git_dir, blobs, true);
        wrong += o.wrong;
        if blob_bytes.iter().any(|&(a, b)| (a..b).contains(&at)) {
            in_blobs += 1;
            noticed += usize::from(o.flagged || o.missing);
        }
    }
    assert!(
        wrong * 100 <= in_blobs,
        "{wrong} wrong reads from {in_blobs} flips in blobs"
    );
    // Not all: a flip in the padding bits after the last deflate block changes nothing.
    assert!(
        noticed * 10 >= in_blobs * 9,
        "{noticed} of {in_blobs} flips in blobs noticed"
    );
    for len in 0..original.len() {
        std::fs::write(pack, &original[..len]).expect("write");
        assert!(
            check_corrupt(git_dir, blobs, true).flagged,
            "truncation at {len} not reported"
        );
    }
    std::fs::write(pack, &original).expect("write");
    let intact = Outcome {
        flagged: false,
        missing: false,
        wrong: 0,
    };
    assert_eq!(check_corrupt(git_dir, blobs, true), intact);
}

#[test]
fn corrupt_packs_are_errors_never_panics() {
    // libgit2's pack builder writes REF_DELTAs.
    let (dir, pack, _idx, blobs) = small_pack();
    corrupt_every_byte(&dir.path().join("src.git"), &pack, &blobs);
    // A hand-made pack of OFS_DELTAs.
    let dir = tempfile::tempdir().expect("tempdir");
    let versions: Vec<Vec<u8>> = (0..5).map(|v| lines(v, 60, "x")).collect();
    let objs = ofs_chain(&versions, |i| i.checked_sub(1));
    write_hand_pack(&dir.path().join("objects/pack"), "ofs", &objs);
    let blobs = versions.iter().map(|v| (blob_id(v), v.clone())).collect();
    corrupt_every_byte(dir.path(), &dir.path().join("objects/pack/pack-ofs.pack"), &blobs);
}

/// Common prefix and suffix copied from the base, the middle inserted.
fn simple_delta(base: &[u8], target: &[u8]) -> Vec<u8> {
    let pre = base.iter().zip(target).take_while(|(a, b)| a == b).count();
    let max_suf = base.len().min(target.len()) - pre;
    let suf = base
        .iter()
        .rev()
        .zip(target.iter().rev())
        .take(max_suf)
        .take_while(|(a, b)| a == b)
        .count();
    let mut ops = Vec::new();
    let mut at = 0;
    while at < pre {
        let len = (pre - at).min(0x10000);
        ops.push(Op::Copy(at, len));
        at += len;
    }
    for chunk in target[pre..target.len() - suf].chunks(127) {
        ops.push(Op::Insert(chunk));
    }
    if suf > 0 {
        ops.push(Op::Copy(base.len() - suf, suf));
    }
    delta(base.len(), target.len(), &ops)
}

/// Version 0 whole, every other version an OFS delta against `base_of(i)` (an earlier version).
fn ofs_chain(versions: &[Vec<u8>], base_of: impl Fn(usize) -> Option<usize>) -> Vec<Obj<'_>> {
    versions
        .iter()
        .enumerate()
        .map(|(i, v)| match base_of(i) {
            None => Obj::Blob(v),
            Some(b) => Obj::Ofs(b, simple_delta(&versions[b], v), blob_id(v)),
        })
        .collect()
}

#[test]
fn ofs_chains_deep_and_branching() {
    for (name, n, base_of) in [
        (
            "deep",
            3000usize,
            (|i: usize| i.checked_sub(1)) as fn(usize) -> Option<usize>,
        ),
        ("branching", 500, |i: usize| (i > 0).then(|| (i - 1) / 3)),
        ("wide", 500, |i: usize| (i > 0).then_some(0)),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let versions: Vec<Vec<u8>> = (0..n).map(|v| lines(v, 50, name)).collect();
        write_hand_pack(&dir.path().join("objects/pack"), name, &ofs_chain(&versions, base_of));
        let (set, errors) = PackSet::open(dir.path());
        assert!(errors.is_empty(), "{errors:?}");
        let (seen, errors) = visit(&set, &|_| true, u64::MAX);
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert_eq!(seen.len(), n, "{name}");
        let by_id: HashMap<Oid, &Vec<u8>> = versions.iter().map(|v| (blob_id(v), v)).collect();
        for (oid, s) in &seen {
            assert_eq!(s.data.as_deref(), Some(&by_id[oid][..]), "{name}");
            if let Some((base, ops)) = &s.delta {
                check_ops(by_id[oid], by_id[base], ops);
            }
        }
        // Only the last version wanted: its whole chain is still rebuilt, nothing else visited.
        let last = blob_id(&versions[n - 1]);
        let (seen, errors) = visit(&set, &|o| *o == last, u64::MAX);
        assert!(errors.is_empty());
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].1.data.as_deref(), Some(&versions[n - 1][..]));
    }
}

#[test]
fn corrupt_indexes_are_errors_never_panics() {
    let (dir, _pack, idx, blobs) = small_pack();
    let git_dir = dir.path().join("src.git");
    let original = std::fs::read(&idx).expect("idx");
    for at in 0..original.len() {
        for bit in [0, 7] {
            let mut bad = original.clone();
            bad[at] ^= 1 << ((at + bit) % 8);
            std::fs::write(&idx, &bad).expect("write");
            // Without checking the index's SHA-1, a flipped id can go unnoticed; nothing panics.
            check_corrupt(&git_dir, &blobs, false);
        }
    }
    for len in 0..original.len() {
        std::fs::write(&idx, &original[..len]).expect("write");
        assert!(
            check_corrupt(&git_dir, &blobs, true).flagged,
            "truncation at {len} not reported"
        );
    }
    // An offset past the end of the pack, and a large offset with no table entry.
    let n = original.len();
    let n_objects = read_u32(&original, 8 + 255 * 4).expect("count") as usize;
    let first_offset = IDX_HEADER + n_objects * (HASH_LEN + 4);
    assert_eq!(first_offset + n_objects * 4 + 2 * HASH_LEN, n);
    for value in [0x7fff_ffffu32, 0x8000_0000, 0, 5] {
        let mut bad = original.clone();
        bad[first_offset..first_offset + 4].copy_from_slice(&value.to_be_bytes());
        std::fs::write(&idx, &bad).expect("write");
        assert!(
            check_corrupt(&git_dir, &blobs, true).flagged,
            "offset {value:#x} not reported"
        );
    }
    // An index without its pack.
    std::fs::write(&idx, &original).expect("write");
    std::fs::remove_file(idx.with_extension("pack")).expect("rm");
    let (_, errors) = PackSet::open(&git_dir);
    assert_eq!(errors.len(), 1, "{errors:?}");
}
