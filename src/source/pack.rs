//! Reads a repository's pack files directly: `.idx` version 2 and `.pack` version 2/3, memory
//! mapped, SHA-1 only. Blobs are resolved by walking the delta forest (each delta's parent is its
//! base) from the objects stored whole, in parallel, so every object is inflated exactly once and
//! a delta's base is still in memory while its children are rebuilt. Each visited blob also
//! carries its delta instructions, so a caller can tell copied bytes from new ones.
//!
//! It does not read loose objects, alternates or multi-pack indexes, does not verify SHA-1
//! checksums (zlib's Adler-32 still catches corrupt data), and knows nothing about commits or
//! paths: callers say which blobs they want and fall back to libgit2 for the ones `contains`
//! does not know. Malformed input is always an error value for the pack or object concerned.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use flate2::{Decompress, FlushDecompress, Status};
use git2::Oid;
use memmap2::Mmap;
use rayon::prelude::*;

const OBJ_COMMIT: u8 = 1;
const OBJ_TAG: u8 = 4;
const OBJ_BLOB: u8 = 3;
const OBJ_OFS_DELTA: u8 = 6;
const OBJ_REF_DELTA: u8 = 7;
/// An entry whose header could not be parsed (its message is in `PackSet::broken`).
const OBJ_BROKEN: u8 = 0;
/// No entry (a delta's base that is in no pack, or an object stored whole).
const NONE: u32 = u32::MAX;

const IDX_MAGIC: &[u8; 4] = b"\xfftOc";
const IDX_HEADER: usize = 8 + 256 * 4;
const HASH_LEN: usize = 20;
const PACK_HEADER: usize = 12;
/// Deflate cannot expand data by more than ~1032:1; larger claimed sizes are corrupt headers,
/// and refusing them keeps a bit flip from turning into a giant allocation.
const MAX_INFLATE_RATIO: u64 = 1032;

/// A pack or object that could not be read; the rest of the set is still usable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PackError {
    /// The pack (or index) path, or the object id.
    pub what: String,
    pub message: String,
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.message)
    }
}

/// One blob handed to the visitor.
#[derive(Debug)]
pub struct PackedBlob<'a> {
    pub oid: Oid,
    /// The blob's size (for a delta, the size it rebuilds to).
    pub size: u64,
    /// The content; `None` when the blob is larger than `max_size` and no wanted object needs it.
    pub data: Option<&'a [u8]>,
    /// For an object stored as a delta: its base's id and the delta's ops (target offsets
    /// increasing).
    pub delta: Option<DeltaInfo<'a>>,
}

/// How a delta-stored blob was rebuilt from its base.
#[derive(Debug, Clone, Copy)]
pub struct DeltaInfo<'a> {
    pub base: Oid,
    /// Ops in target order; together they cover the blob exactly once.
    pub ops: &'a [DeltaOp],
}

/// One delta instruction, as positions: `Copy` takes `len` bytes of the base at `src`, `Insert`
/// bytes are new (they are the blob's own bytes at `dst..dst + len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaOp {
    Copy { src: usize, dst: usize, len: usize },
    Insert { dst: usize, len: usize },
}

/// One object of a pack, found through the index and parsed without inflating anything.
#[derive(Debug, Clone)]
struct Entry {
    oid: Oid,
    /// Offset of the entry header in its pack.
    offset: u64,
    /// End (exclusive) of the entry's compressed data: the next entry or the pack trailer.
    end: u64,
    /// Size from the header: the object's, or for a delta, the delta data's.
    size: u64,
    /// Index of the base entry (deltas), `NONE` otherwise or when the base is missing.
    base: u32,
    pack: u32,
    /// Length of the header (type/size varint plus base reference).
    header: u8,
    kind: u8,
    /// The same object is in an earlier pack, which is the one visited.
    dup: bool,
}

struct Pack {
    path: PathBuf,
    idx: Mmap,
    data: Mmap,
    /// Index position (sorted by id) -> entry index in `PackSet::entries`.
    pos_to_entry: Vec<u32>,
    /// This pack's entries are `entries[first..first + count]`, sorted by offset.
    first: u32,
    count: u32,
}

impl Pack {
    fn fanout(&self, i: usize) -> usize {
        read_u32(&self.idx, 8 + i * 4).unwrap_or(0) as usize
    }

    fn name(&self, pos: usize) -> &[u8] {
        let at = IDX_HEADER + pos * HASH_LEN;
        &self.idx[at..at + HASH_LEN]
    }

    /// Position of `id` in the index (the fanout narrows the binary search to one first byte).
    fn find(&self, id: &[u8]) -> Option<usize> {
        let first = *id.first()? as usize;
        let lo = if first == 0 { 0 } else { self.fanout(first - 1) };
        let hi = self.fanout(first);
        let (mut lo, mut hi) = (lo, hi.min(self.count as usize));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.name(mid).cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}

/// The pack files of one repository, indexed and parsed into a delta forest.
pub struct PackSet {
    packs: Vec<Pack>,
    entries: Vec<Entry>,
    /// Children of entry `e` (the deltas based on it): `children[child_start[e]..child_start[e + 1]]`.
    child_start: Vec<u32>,
    children: Vec<u32>,
    /// Header parse errors, by entry index.
    broken: Vec<(u32, String)>,
}

impl fmt::Debug for PackSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackSet")
            .field("packs", &self.packs.iter().map(|p| &p.path).collect::<Vec<_>>())
            .field("objects", &self.entries.len())
            .finish()
    }
}

impl PackSet {
    /// All packs under `<git_dir>/objects/pack` (also works for bare repos / mirrors; a linked
    /// work tree's git dir is followed to its common dir). A missing pack directory is an empty
    /// set, not an error.
    pub fn open(git_dir: &Path) -> (PackSet, Vec<PackError>) {
        let mut errors = Vec::new();
        let empty = PackSet {
            packs: Vec::new(),
            entries: Vec::new(),
            child_start: vec![0],
            children: Vec::new(),
            broken: Vec::new(),
        };
        let common = common_dir(git_dir);
        if is_sha256(&common) {
            errors.push(PackError {
                what: common.display().to_string(),
                message: "SHA-256 repositories are not supported by the pack reader".into(),
            });
            return (empty, errors);
        }
        let dir = common.join("objects").join("pack");
        let mut idx_paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name.starts_with("pack-") && name.ends_with(".idx")
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                errors.push(PackError {
                    what: dir.display().to_string(),
                    message: format!("cannot list packs: {e}"),
                });
                Vec::new()
            }
        };
        idx_paths.sort();
        let loaded: Vec<Result<Loaded, PackError>> = idx_paths.par_iter().map(|p| load(p)).collect();
        let mut packs = Vec::new();
        let mut offsets = Vec::new();
        for r in loaded {
            match r {
                Ok((p, o)) => {
                    packs.push(p);
                    offsets.push(o);
                }
                Err(e) => errors.push(e),
            }
        }
        let mut set = empty;
        set.packs = packs;
        set.build(offsets);
        (set, errors)
    }

    /// True when an object with this id is in one of the packs.
    pub fn contains(&self, oid: &Oid) -> bool {
        self.packs.iter().any(|p| p.find(oid.as_bytes()).is_some())
    }

    /// Objects (of every type) in the packs, duplicates across packs counted once per pack.
    pub fn object_count(&self) -> usize {
        self.entries.len()
    }

    /// The pack files read.
    pub fn pack_paths(&self) -> impl Iterator<Item = &Path> {
        self.packs.iter().map(|p| p.path.as_path())
    }

    /// Parses every entry header, resolves delta bases and builds the child lists.
    fn build(&mut self, offsets: Vec<Vec<(u64, u32)>>) {
        let mut first = 0u32;
        for (p, o) in self.packs.iter_mut().zip(&offsets) {
            p.first = first;
            p.count = o.len() as u32;
            first += p.count;
        }
        // Headers per pack, in parallel; bases are still offsets / ids here.
        let parsed: Vec<Vec<(Entry, Result<BaseRef, String>)>> = self
            .packs
            .par_iter()
            .zip(&offsets)
            .enumerate()
            .map(|(pi, (pack, offs))| parse_entries(pack, pi as u32, offs))
            .collect();
        for (pack, offs) in self.packs.iter_mut().zip(&offsets) {
            pack.pos_to_entry = vec![NONE; offs.len()];
            for (k, &(_, pos)) in offs.iter().enumerate() {
                pack.pos_to_entry[pos as usize] = pack.first + k as u32;
            }
        }
        let mut entries = Vec::with_capacity(first as usize);
        let mut refs = Vec::with_capacity(first as usize);
        for list in parsed {
            for (e, r) in list {
                entries.push(e);
                refs.push(r);
            }
        }
        let mut broken = Vec::new();
        for (i, r) in refs.into_iter().enumerate() {
            let e = &entries[i];
            let base = match r {
                Ok(BaseRef::Whole) => NONE,
                Ok(BaseRef::Offset(off)) => {
                    let pack = &self.packs[e.pack as usize];
                    let range = &entries[pack.first as usize..(pack.first + pack.count) as usize];
                    match range.binary_search_by_key(&off, |x| x.offset) {
                        Ok(k) => pack.first + k as u32,
                        Err(_) => {
                            broken.push((i as u32, format!("delta base offset {off} is not an object")));
                            entries[i].kind = OBJ_BROKEN;
                            NONE
                        }
                    }
                }
                Ok(BaseRef::Id(id)) => {
                    // Prefer the delta's own pack, then the others in order.
                    let own = e.pack as usize;
                    std::iter::once(own)
                        .chain((0..self.packs.len()).filter(|&p| p != own))
                        .find_map(|p| self.packs[p].find(&id).map(|pos| self.packs[p].pos_to_entry[pos]))
                        .unwrap_or(NONE)
                }
                Err(msg) => {
                    broken.push((i as u32, msg));
                    entries[i].kind = OBJ_BROKEN;
                    NONE
                }
            };
            entries[i].base = base;
        }
        // An object in several packs is visited from the first pack only.
        for p in 1..self.packs.len() {
            let pack = &self.packs[p];
            for e in &mut entries[pack.first as usize..(pack.first + pack.count) as usize] {
                e.dup = self.packs[..p].iter().any(|q| q.find(e.oid.as_bytes()).is_some());
            }
        }
        let n = entries.len();
        let mut child_start = vec![0u32; n + 1];
        for e in &entries {
            if e.base != NONE {
                child_start[e.base as usize + 1] += 1;
            }
        }
        for i in 0..n {
            child_start[i + 1] += child_start[i];
        }
        let mut fill = child_start.clone();
        let mut children = vec![0u32; child_start[n] as usize];
        for (i, e) in entries.iter().enumerate() {
            if e.base != NONE {
                let slot = &mut fill[e.base as usize];
                children[*slot as usize] = i as u32;
                *slot += 1;
            }
        }
        self.entries = entries;
        self.child_start = child_start;
        self.children = children;
        self.broken = broken;
    }

    fn kids(&self, e: u32) -> &[u32] {
        let (a, b) = (self.child_start[e as usize], self.child_start[e as usize + 1]);
        &self.children[a as usize..b as usize]
    }

    /// The compressed bytes of an entry (after its header).
    fn compressed(&self, e: &Entry) -> &[u8] {
        let data = &self.packs[e.pack as usize].data;
        data.get((e.offset + u64::from(e.header)) as usize..e.end as usize)
            .unwrap_or(&[])
    }

    /// Visits every wanted blob stored in the packs exactly once, in parallel (rayon, current
    /// pool). `init` makes per-thread state (like rayon's `map_init`); `f` returns a value per
    /// visited blob. Blobs larger than `max_size` that are no needed delta base are not
    /// inflated: `f` gets `data: None`. Results come in no particular order. Errors name the
    /// objects (wanted blobs, or the bases they need) that could not be rebuilt; a delta whose
    /// chain is broken is reported when `want` accepts its id, as its type is unknown. A wanted
    /// id that is neither visited nor reported is not a blob of these packs (a loose object, or
    /// another type): read it with libgit2.
    pub fn visit_blobs<S: Send, T: Send>(
        &self,
        want: &(dyn Fn(&Oid) -> bool + Sync),
        max_size: u64,
        init: impl Fn() -> S + Sync + Send,
        f: impl Fn(&mut S, &PackedBlob<'_>) -> T + Sync + Send,
    ) -> (Vec<(Oid, T)>, Vec<PackError>) {
        self.visit_blobs_with_memo(want, max_size, init, |s, b, _: Option<&()>| (f(s, b), None))
    }

    /// `visit_blobs`, where `f` may also return a memo of a blob (e.g. what scanning it found)
    /// and is handed the memo of the blob's delta base, if the base was visited and `f` kept
    /// one: what a delta's visitor needs to work only on the delta's new bytes. A memo lives as
    /// long as the base's bytes (until its last delta child is done).
    pub fn visit_blobs_with_memo<S: Send, T: Send, M: Send + Sync>(
        &self,
        want: &(dyn Fn(&Oid) -> bool + Sync),
        max_size: u64,
        init: impl Fn() -> S + Sync + Send,
        f: impl Fn(&mut S, &PackedBlob<'_>, Option<&M>) -> (T, Option<M>) + Sync + Send,
    ) -> (Vec<(Oid, T)>, Vec<PackError>) {
        let flags = self.mark(want);
        let roots: Vec<u32> = (0..self.entries.len() as u32)
            .filter(|&e| {
                let en = &self.entries[e as usize];
                en.kind == OBJ_BLOB && flags[e as usize].load(Ordering::Relaxed) & NEEDED != 0
            })
            .collect();
        let walk = Walk {
            set: self,
            flags: &flags,
            max_size,
            init: &init,
            f: &f,
            slots: (0..rayon::current_num_threads())
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
            spare: Mutex::new(Vec::new()),
            memo: std::marker::PhantomData,
        };
        rayon::scope(|s| {
            roots.par_iter().for_each(|&r| walk.task(s, r, None));
        });
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for slot in walk.slots.iter().chain(std::iter::once(&walk.spare)) {
            for w in lock(slot).drain(..) {
                out.extend(w.out);
                errors.extend(w.errors);
            }
        }
        // Deltas no root reaches: a missing or unreadable base, or a cycle of REF_DELTAs.
        let unreached: Vec<PackError> = (0..self.entries.len())
            .into_par_iter()
            .filter(|&i| flags[i].load(Ordering::Relaxed) & REACHED == 0)
            .filter(|&i| !self.entries[i].dup && want(&self.entries[i].oid))
            .map(|i| PackError {
                what: self.entries[i].oid.to_string(),
                message: self.unreached_reason(i as u32),
            })
            .collect();
        errors.extend(unreached);
        errors.sort();
        (out, errors)
    }

    fn unreached_reason(&self, i: u32) -> String {
        let e = &self.entries[i as usize];
        let pack = self.packs[e.pack as usize].path.display();
        if let Ok(k) = self.broken.binary_search_by_key(&i, |b| b.0) {
            return format!("{pack} at offset {}: {}", e.offset, self.broken[k].1);
        }
        if e.base == NONE {
            return format!("{pack} at offset {}: delta base is in no pack", e.offset);
        }
        format!(
            "{pack} at offset {}: delta base {} cannot be rebuilt",
            e.offset, self.entries[e.base as usize].oid
        )
    }

    /// Flags every entry reachable from a whole object; in blob trees also which entries are
    /// wanted and which are needed (wanted, or the base of something needed).
    fn mark(&self, want: &(dyn Fn(&Oid) -> bool + Sync)) -> Vec<AtomicU8> {
        let flags: Vec<AtomicU8> = (0..self.entries.len()).map(|_| AtomicU8::new(0)).collect();
        (0..self.entries.len() as u32)
            .into_par_iter()
            .filter(|&e| (OBJ_COMMIT..=OBJ_TAG).contains(&self.entries[e as usize].kind))
            .for_each_init(Vec::new, |stack: &mut Vec<(u32, usize)>, root| {
                let blob = self.entries[root as usize].kind == OBJ_BLOB;
                // Each tree is walked by one thread only, so relaxed loads and stores suffice.
                stack.clear();
                stack.push((root, 0));
                let mut f = REACHED;
                if blob && !self.entries[root as usize].dup && want(&self.entries[root as usize].oid) {
                    f |= WANTED | NEEDED;
                }
                flags[root as usize].store(f, Ordering::Relaxed);
                while let Some(top) = stack.last_mut() {
                    let (node, next) = *top;
                    let kids = self.kids(node);
                    if let Some(&c) = kids.get(next) {
                        top.1 += 1;
                        let ce = &self.entries[c as usize];
                        let mut f = REACHED;
                        if blob && !ce.dup && want(&ce.oid) {
                            f |= WANTED | NEEDED;
                        }
                        flags[c as usize].store(f, Ordering::Relaxed);
                        stack.push((c, 0));
                    } else {
                        stack.pop();
                        let needed = flags[node as usize].load(Ordering::Relaxed) & NEEDED != 0;
                        if let (true, Some(&(parent, _))) = (needed, stack.last()) {
                            flags[parent as usize].fetch_or(NEEDED, Ordering::Relaxed);
                        }
                    }
                }
            });
        flags
    }
}

const REACHED: u8 = 1;
const WANTED: u8 = 2;
const NEEDED: u8 = 4;

/// Where a delta's base is, before it is resolved to an entry.
enum BaseRef {
    Whole,
    Offset(u64),
    Id([u8; HASH_LEN]),
}

/// Entry headers of one pack, in offset order.
fn parse_entries(pack: &Pack, pi: u32, offs: &[(u64, u32)]) -> Vec<(Entry, Result<BaseRef, String>)> {
    let trailer = pack.data.len() as u64 - HASH_LEN as u64;
    offs.iter()
        .enumerate()
        .map(|(k, &(offset, pos))| {
            let end = offs.get(k + 1).map_or(trailer, |n| n.0);
            let oid = Oid::from_bytes(pack.name(pos as usize)).unwrap_or_else(|_| Oid::zero());
            let mut e = Entry {
                oid,
                offset,
                end,
                size: 0,
                base: NONE,
                pack: pi,
                header: 0,
                kind: OBJ_BROKEN,
                dup: false,
            };
            let bytes = pack.data.get(offset as usize..end as usize).unwrap_or(&[]);
            let r = parse_header(bytes, offset).map(|(kind, size, header, base)| {
                e.kind = kind;
                e.size = size;
                e.header = header;
                base
            });
            (e, r)
        })
        .collect()
}

/// Type, size, header length and base reference of the entry starting `bytes` (at `offset`).
fn parse_header(bytes: &[u8], offset: u64) -> Result<(u8, u64, u8, BaseRef), String> {
    let mut i = 0;
    let mut next = || -> Result<u8, String> {
        let b = *bytes.get(i).ok_or("entry header runs past the entry")?;
        i += 1;
        Ok(b)
    };
    let mut c = next()?;
    let kind = (c >> 4) & 7;
    let mut size = u64::from(c & 15);
    let mut shift = 4;
    while c & 0x80 != 0 {
        c = next()?;
        if shift > 56 {
            return Err("object size does not fit in 64 bits".into());
        }
        size |= u64::from(c & 0x7f) << shift;
        shift += 7;
    }
    let base = match kind {
        1..=4 => BaseRef::Whole,
        OBJ_OFS_DELTA => {
            c = next()?;
            let mut dist = u64::from(c & 0x7f);
            while c & 0x80 != 0 {
                c = next()?;
                if dist >= 1 << 56 {
                    return Err("delta base offset does not fit in 64 bits".into());
                }
                dist = ((dist + 1) << 7) | u64::from(c & 0x7f);
            }
            match offset.checked_sub(dist) {
                Some(base) if dist > 0 && base >= PACK_HEADER as u64 => BaseRef::Offset(base),
                _ => return Err(format!("delta base distance {dist} points outside the pack")),
            }
        }
        OBJ_REF_DELTA => {
            let mut id = [0u8; HASH_LEN];
            for b in &mut id {
                *b = next()?;
            }
            BaseRef::Id(id)
        }
        k => return Err(format!("invalid object type {k}")),
    };
    Ok((kind, size, i as u8, base))
}

/// Per-task (in practice per-thread) state: the caller's, plus reused buffers and results.
struct Worker<S, T> {
    state: S,
    zlib: Decompress,
    /// The current delta's inflated instructions.
    delta: Vec<u8>,
    ops: Vec<DeltaOp>,
    kids: Vec<u32>,
    /// Object buffers to reuse.
    pool: Vec<Vec<u8>>,
    out: Vec<(Oid, T)>,
    errors: Vec<PackError>,
}

/// Buffers kept per worker for reuse, and the largest capacity worth keeping.
const POOL_BUFFERS: usize = 4;
const POOL_MAX_CAPACITY: usize = 1 << 20;

/// Keeps `buf` for reuse unless the pool is full or the buffer is unusually large.
fn recycle(pool: &mut Vec<Vec<u8>>, buf: Vec<u8>) {
    if pool.len() < POOL_BUFFERS && buf.capacity() <= POOL_MAX_CAPACITY {
        pool.push(buf);
    }
}

/// A resolved object whose children still need it: its bytes and the visitor's memo.
struct Resolved<M> {
    bytes: Vec<u8>,
    memo: Option<M>,
}

/// A delta's base while its children are rebuilt: owned on a single-child chain, shared when
/// siblings run as separate tasks.
enum Base<M> {
    None,
    Owned(Resolved<M>),
    Shared(Arc<Resolved<M>>),
}

impl<M> Base<M> {
    fn get(&self) -> Option<&Resolved<M>> {
        match self {
            Base::None => None,
            Base::Owned(r) => Some(r),
            Base::Shared(a) => Some(a),
        }
    }
}

struct Walk<'a, S, T, M, I, F> {
    set: &'a PackSet,
    flags: &'a [AtomicU8],
    max_size: u64,
    init: &'a I,
    f: &'a F,
    /// One stack of workers per rayon thread. A thread only touches its own slot, once per
    /// task, so the locks are never contended; the stack only grows past one worker if `f`
    /// itself runs rayon jobs that steal our tasks.
    slots: Vec<Mutex<Vec<Worker<S, T>>>>,
    /// Workers of threads outside the pool.
    spare: Mutex<Vec<Worker<S, T>>>,
    memo: std::marker::PhantomData<fn() -> M>,
}

fn lock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<'a, S, T, M, I, F> Walk<'a, S, T, M, I, F>
where
    S: Send,
    T: Send,
    M: Send + Sync,
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, &PackedBlob<'_>, Option<&M>) -> (T, Option<M>) + Sync + Send,
{
    fn slot(&self) -> &Mutex<Vec<Worker<S, T>>> {
        rayon::current_thread_index()
            .and_then(|i| self.slots.get(i))
            .unwrap_or(&self.spare)
    }

    fn worker(&self) -> Worker<S, T> {
        lock(self.slot()).pop().unwrap_or_else(|| Worker {
            state: (self.init)(),
            zlib: Decompress::new(true),
            delta: Vec::new(),
            ops: Vec::new(),
            kids: Vec::new(),
            pool: Vec::new(),
            out: Vec::new(),
            errors: Vec::new(),
        })
    }

    fn needed(&self, e: u32) -> bool {
        self.flags[e as usize].load(Ordering::Relaxed) & NEEDED != 0
    }

    /// Rebuilds `node` (from `base` when it is a delta) and then its needed descendants,
    /// depth-first: the first child continues on this thread, its siblings become tasks that
    /// share the node's bytes.
    fn task<'s>(&'s self, scope: &rayon::Scope<'s>, node: u32, base: Option<Arc<Resolved<M>>>)
    where
        'a: 's,
    {
        let mut w = self.worker();
        let mut node = node;
        let mut base = base.map_or(Base::None, Base::Shared);
        loop {
            w.kids.clear();
            w.kids
                .extend(self.set.kids(node).iter().copied().filter(|&c| self.needed(c)));
            let keep = !w.kids.is_empty();
            let result = self.resolve(&mut w, node, base.get(), keep);
            match std::mem::replace(&mut base, Base::None) {
                Base::Owned(r) => recycle(&mut w.pool, r.bytes),
                Base::Shared(a) => {
                    if let Ok(r) = Arc::try_unwrap(a) {
                        recycle(&mut w.pool, r.bytes);
                    }
                }
                Base::None => {}
            }
            let resolved = match result {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(message) => {
                    self.fail(&mut w, node, message);
                    break;
                }
            };
            let first = w.kids[0];
            if w.kids.len() == 1 {
                base = Base::Owned(resolved);
            } else {
                let shared = Arc::new(resolved);
                for &c in &w.kids[1..] {
                    let b = shared.clone();
                    scope.spawn(move |s| self.task(s, c, Some(b)));
                }
                base = Base::Shared(shared);
            }
            node = first;
        }
        lock(self.slot()).push(w);
    }

    /// Inflates (and for a delta, rebuilds) one object, calls `f` if it is wanted, and returns
    /// its bytes when `keep` (its children need them).
    fn resolve(
        &self,
        w: &mut Worker<S, T>,
        node: u32,
        base: Option<&Resolved<M>>,
        keep: bool,
    ) -> Result<Option<Resolved<M>>, String> {
        let set = self.set;
        let e = &set.entries[node as usize];
        let wanted = self.flags[node as usize].load(Ordering::Relaxed) & WANTED != 0;
        let Worker {
            state,
            zlib,
            delta,
            ops,
            pool,
            out,
            ..
        } = w;
        let base_memo = base.and_then(|b| b.memo.as_ref());
        let Some(base) = base.map(|b| b.bytes.as_slice()) else {
            // Stored whole.
            if !keep && e.size > self.max_size {
                if wanted {
                    let blob = PackedBlob {
                        oid: e.oid,
                        size: e.size,
                        data: None,
                        delta: None,
                    };
                    out.push((e.oid, (self.f)(state, &blob, None).0));
                }
                return Ok(None);
            }
            let mut buf = pool.pop().unwrap_or_default();
            if let Err(m) = inflate(zlib, set.compressed(e), e.size, &mut buf) {
                recycle(pool, buf);
                return Err(m);
            }
            let mut memo = None;
            if wanted {
                let blob = PackedBlob {
                    oid: e.oid,
                    size: e.size,
                    data: Some(&buf),
                    delta: None,
                };
                let (t, m) = (self.f)(state, &blob, None);
                out.push((e.oid, t));
                memo = m;
            }
            if keep {
                return Ok(Some(Resolved { bytes: buf, memo }));
            }
            recycle(pool, buf);
            return Ok(None);
        };
        inflate(zlib, set.compressed(e), e.size, delta)?;
        let (source, target, start) = delta_sizes(delta)?;
        if source != base.len() as u64 {
            return Err(format!(
                "delta expects a {source}-byte base, its base has {} bytes",
                base.len()
            ));
        }
        let skip = !keep && target > self.max_size;
        let mut buf = if skip {
            None
        } else {
            Some(pool.pop().unwrap_or_default())
        };
        ops.clear();
        let res = apply_delta(&delta[start..], base, target, buf.as_mut(), wanted.then_some(&mut *ops));
        if let Err(m) = res {
            if let Some(b) = buf {
                recycle(pool, b);
            }
            return Err(m);
        }
        let mut memo = None;
        if wanted {
            let blob = PackedBlob {
                oid: e.oid,
                size: target,
                data: buf.as_deref(),
                delta: Some(DeltaInfo {
                    base: set.entries[e.base as usize].oid,
                    ops,
                }),
            };
            let (t, m) = (self.f)(state, &blob, base_memo);
            out.push((e.oid, t));
            memo = m;
        }
        match buf {
            Some(bytes) if keep => Ok(Some(Resolved { bytes, memo })),
            Some(b) => {
                recycle(pool, b);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Reports a failed object, and every wanted object that needed it as a base.
    fn fail(&self, w: &mut Worker<S, T>, node: u32, message: String) {
        let set = self.set;
        let e = &set.entries[node as usize];
        let pack = set.packs[e.pack as usize].path.display();
        w.errors.push(PackError {
            what: e.oid.to_string(),
            message: format!("{pack} at offset {}: {message}", e.offset),
        });
        let mut stack: Vec<u32> = set.kids(node).to_vec();
        while let Some(c) = stack.pop() {
            if !self.needed(c) {
                continue;
            }
            if self.flags[c as usize].load(Ordering::Relaxed) & WANTED != 0 {
                w.errors.push(PackError {
                    what: set.entries[c as usize].oid.to_string(),
                    message: format!("{pack}: delta base {} cannot be rebuilt", e.oid),
                });
            }
            stack.extend_from_slice(set.kids(c));
        }
    }
}

/// Inflates one zlib stream that must produce exactly `size` bytes into `out`.
fn inflate(z: &mut Decompress, input: &[u8], size: u64, out: &mut Vec<u8>) -> Result<(), String> {
    if size
        > (input.len() as u64)
            .saturating_mul(MAX_INFLATE_RATIO)
            .saturating_add(64)
    {
        return Err(format!("claims {size} bytes from {} compressed bytes", input.len()));
    }
    let size = size as usize;
    out.clear();
    // One spare byte, so a stream longer than the header says is caught.
    out.reserve(size + 1);
    z.reset(true);
    loop {
        let (in_before, out_before) = (z.total_in(), z.total_out());
        let rest = input.get(in_before as usize..).unwrap_or(&[]);
        let status = z
            .decompress_vec(rest, out, FlushDecompress::Finish)
            .map_err(|e| format!("corrupt zlib data: {e}"))?;
        if out.len() > size {
            return Err(format!("inflates to more than the {size} bytes its header says"));
        }
        match status {
            Status::StreamEnd => break,
            _ if z.total_in() == in_before && z.total_out() == out_before => {
                return Err("zlib data is truncated".into());
            }
            _ => {}
        }
    }
    if out.len() != size {
        return Err(format!("inflates to {} bytes, its header says {size}", out.len()));
    }
    Ok(())
}

/// Source size, target size and the offset of the first op of a delta.
fn delta_sizes(d: &[u8]) -> Result<(u64, u64, usize), String> {
    let mut i = 0;
    let mut varint = || -> Result<u64, String> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = *d.get(i).ok_or("delta header is truncated")?;
            i += 1;
            if shift > 63 {
                return Err("delta size does not fit in 64 bits".into());
            }
            v |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
    };
    let source = varint()?;
    let target = varint()?;
    Ok((source, target, i))
}

/// Runs a delta's ops against `base`: appends the result to `out` (when given) and records
/// the ops (when given). Every op is bounds-checked against the base and the target size.
fn apply_delta(
    d: &[u8],
    base: &[u8],
    target: u64,
    mut out: Option<&mut Vec<u8>>,
    mut ops: Option<&mut Vec<DeltaOp>>,
) -> Result<(), String> {
    let target = usize::try_from(target).map_err(|_| "delta target size does not fit in memory".to_string())?;
    if let Some(o) = out.as_deref_mut() {
        o.clear();
        // The claimed size is not trusted for the allocation: the buffer grows as ops fill it.
        o.reserve(target.min(base.len() + d.len() * 128));
    }
    let mut i = 0;
    let mut dst = 0usize;
    let byte = |i: &mut usize| -> Result<usize, String> {
        let b = *d.get(*i).ok_or("delta op is truncated")?;
        *i += 1;
        Ok(usize::from(b))
    };
    while i < d.len() {
        let c = d[i];
        i += 1;
        if c & 0x80 != 0 {
            let mut src = 0usize;
            for k in 0..4 {
                if c & (1 << k) != 0 {
                    src |= byte(&mut i)? << (8 * k);
                }
            }
            let mut len = 0usize;
            for k in 0..3 {
                if c & (0x10 << k) != 0 {
                    len |= byte(&mut i)? << (8 * k);
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            let bytes = src
                .checked_add(len)
                .and_then(|end| base.get(src..end))
                .ok_or_else(|| format!("delta copies {len} bytes at {src} from a {}-byte base", base.len()))?;
            if len > target - dst {
                return Err("delta writes past its target size".into());
            }
            if let Some(o) = out.as_deref_mut() {
                o.extend_from_slice(bytes);
            }
            if let Some(ops) = ops.as_deref_mut() {
                ops.push(DeltaOp::Copy { src, dst, len });
            }
            dst += len;
        } else if c != 0 {
            let len = usize::from(c);
            let bytes = d.get(i..i + len).ok_or("delta insert is truncated")?;
            i += len;
            if len > target - dst {
                return Err("delta writes past its target size".into());
            }
            if let Some(o) = out.as_deref_mut() {
                o.extend_from_slice(bytes);
            }
            if let Some(ops) = ops.as_deref_mut() {
                ops.push(DeltaOp::Insert { dst, len });
            }
            dst += len;
        } else {
            return Err("delta op 0 is reserved".into());
        }
    }
    if dst != target {
        return Err(format!("delta builds {dst} bytes, its header says {target}"));
    }
    Ok(())
}

/// The directory holding `objects/` (a linked work tree's git dir names it in `commondir`).
fn common_dir(git_dir: &Path) -> PathBuf {
    match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(s) if !s.trim().is_empty() => git_dir.join(s.trim()),
        _ => git_dir.to_path_buf(),
    }
}

/// `extensions.objectFormat = sha256` in the repository config.
fn is_sha256(common: &Path) -> bool {
    let Ok(config) = std::fs::read_to_string(common.join("config")) else {
        return false;
    };
    config.lines().any(|l| {
        let l: String = l
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        l == "objectformat=sha256"
    })
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn read_u64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_be_bytes(a))
}

fn map(path: &Path) -> Result<Mmap, String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    // SAFETY: packs and their indexes are written once and renamed into place by git, never
    // modified; a file truncated under us by another process is outside what we defend.
    unsafe { Mmap::map(&file) }.map_err(|e| format!("cannot map: {e}"))
}

/// A mapped pack with (offset, index position) of every object, sorted by offset.
type Loaded = (Pack, Vec<(u64, u32)>);

/// Maps and validates an index and its pack.
fn load(idx_path: &Path) -> Result<Loaded, PackError> {
    let err = |path: &Path, message: String| PackError {
        what: path.display().to_string(),
        message,
    };
    let idx = map(idx_path).map_err(|m| err(idx_path, m))?;
    let offsets = parse_idx(&idx).map_err(|m| err(idx_path, m))?;
    let pack_path = idx_path.with_extension("pack");
    let data = map(&pack_path).map_err(|m| err(&pack_path, m))?;
    let n = offsets.len();
    check_pack(&data, n, &idx[idx.len() - 2 * HASH_LEN..idx.len() - HASH_LEN]).map_err(|m| err(&pack_path, m))?;
    let trailer = (data.len() - HASH_LEN) as u64;
    let mut sorted: Vec<(u64, u32)> = offsets.into_iter().zip(0u32..).collect();
    sorted.sort_unstable();
    for (k, &(off, _)) in sorted.iter().enumerate() {
        if off < PACK_HEADER as u64 || off >= trailer {
            return Err(err(idx_path, format!("object offset {off} is outside the pack")));
        }
        if k > 0 && sorted[k - 1].0 == off {
            return Err(err(idx_path, format!("two objects at offset {off}")));
        }
    }
    Ok((
        Pack {
            path: pack_path,
            idx,
            data,
            pos_to_entry: Vec::new(),
            first: 0,
            count: n as u32,
        },
        sorted,
    ))
}

/// Checks an index (version 2, SHA-1) and returns each object's pack offset, in index order.
fn parse_idx(idx: &[u8]) -> Result<Vec<u64>, String> {
    if idx.len() < IDX_HEADER + 2 * HASH_LEN {
        return Err(format!("index is truncated ({} bytes)", idx.len()));
    }
    if &idx[..4] != IDX_MAGIC {
        return Err("not a version 2 pack index (version 1 is not supported)".into());
    }
    let version = read_u32(idx, 4).unwrap_or(0);
    if version != 2 {
        return Err(format!("unsupported pack index version {version}"));
    }
    let mut prev = 0;
    for i in 0..256 {
        let v = read_u32(idx, 8 + i * 4).unwrap_or(0);
        if v < prev {
            return Err("index fanout table is not sorted".into());
        }
        prev = v;
    }
    let n = prev as usize;
    let names = IDX_HEADER;
    let crcs = names as u64 + n as u64 * HASH_LEN as u64;
    let offs = crcs + n as u64 * 4;
    let large = offs + n as u64 * 4;
    let min_len = large + 2 * HASH_LEN as u64;
    if (idx.len() as u64) < min_len {
        return Err(format!(
            "index is truncated: {n} objects need at least {min_len} bytes, it has {}",
            idx.len()
        ));
    }
    let (offs, large) = (offs as usize, large as usize);
    let large_count = (idx.len() - 2 * HASH_LEN - large) / 8;
    if large + large_count * 8 + 2 * HASH_LEN != idx.len() {
        return Err("index size does not match its object count".into());
    }
    for i in 1..n {
        let (a, b) = (names + (i - 1) * HASH_LEN, names + i * HASH_LEN);
        if idx[a..a + HASH_LEN] >= idx[b..b + HASH_LEN] {
            return Err("index object ids are not sorted".into());
        }
    }
    for first in 0..256usize {
        let (lo, hi) = if first == 0 {
            (0, read_u32(idx, 8).unwrap_or(0) as usize)
        } else {
            (
                read_u32(idx, 8 + (first - 1) * 4).unwrap_or(0) as usize,
                read_u32(idx, 8 + first * 4).unwrap_or(0) as usize,
            )
        };
        if (lo..hi).any(|p| idx[names + p * HASH_LEN] as usize != first) {
            return Err("index fanout table does not match its object ids".into());
        }
    }
    if large_count > n {
        return Err("index large-offset table is larger than its object count".into());
    }
    (0..n)
        .map(|i| {
            let v = read_u32(idx, offs + i * 4).ok_or("index is truncated")?;
            if v & 0x8000_0000 == 0 {
                return Ok(u64::from(v));
            }
            let k = (v & 0x7fff_ffff) as usize;
            if k >= large_count {
                return Err(format!("large offset {k} is outside the index's table"));
            }
            read_u64(idx, large + k * 8).ok_or_else(|| "index is truncated".to_string())
        })
        .collect()
}

/// Checks the pack header against the index: signature, version, object count, checksum.
fn check_pack(data: &[u8], n: usize, idx_pack_sum: &[u8]) -> Result<(), String> {
    if data.len() < PACK_HEADER + HASH_LEN {
        return Err(format!("pack is truncated ({} bytes)", data.len()));
    }
    if &data[..4] != b"PACK" {
        return Err("not a pack file (no PACK signature)".into());
    }
    let version = read_u32(data, 4).unwrap_or(0);
    if version != 2 && version != 3 {
        return Err(format!("unsupported pack version {version}"));
    }
    let count = read_u32(data, 8).unwrap_or(0) as usize;
    if count != n {
        return Err(format!("pack holds {count} objects, its index {n}"));
    }
    if &data[data.len() - HASH_LEN..] != idx_pack_sum {
        return Err("pack checksum does not match its index (truncated or replaced pack?)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
