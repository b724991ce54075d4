//! A simulated disk for the store's tests: it loses power the way real disks and file
//! systems do (the model of LazyFS and ALICE). Writes land in a page cache; `fsync` makes a
//! file's data durable and `fsync` of the directory its names. A power cut keeps what was
//! durable and, of the writes since, any subset (later ones without earlier ones: reordered),
//! each possibly torn at any byte; of the directory changes since the last directory sync, a
//! prefix. It can also run out of space (a write lands in part, then fails with
//! `StorageFull`) and fail an `fsync` the way Linux does (the error once, the dirty data
//! dropped from the cache's bookkeeping, so that a later `fsync` succeeds without it).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::vfs::{VFile, Vfs};

/// A small, seeded pseudo-random generator (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub(crate) fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

#[derive(Debug, Clone)]
enum Op {
    Write { at: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Clone, Default)]
struct Inode {
    /// What a read sees now (the page cache).
    cur: Vec<u8>,
    /// What survives a power cut for sure.
    durable: Vec<u8>,
    /// Changes since the last sync, in order.
    pending: Vec<Op>,
}

#[derive(Debug, Clone)]
enum DirOp {
    Link(PathBuf, usize),
    Unlink(PathBuf),
    Rename(PathBuf, PathBuf),
}

/// What a power cut did, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CutStats {
    /// Unsynced writes dropped.
    pub(crate) dropped: u64,
    /// Unsynced writes kept after an earlier one was dropped.
    pub(crate) reordered: u64,
    /// Writes torn (kept in part).
    pub(crate) torn: u64,
    /// Directory changes lost.
    pub(crate) dir_lost: u64,
}

#[derive(Debug, Default)]
struct Disk {
    inodes: Vec<Inode>,
    names: BTreeMap<PathBuf, usize>,
    durable_names: BTreeMap<PathBuf, usize>,
    dir_pending: Vec<DirOp>,
    /// Mutating operations done.
    ops: u64,
    /// The power goes at this mutating operation (it fails, and so does every later one).
    cut_at: Option<u64>,
    dead: bool,
    /// Room left for file data, if limited.
    space: Option<u64>,
    /// The next `fsync` of a file fails with EIO.
    fail_next_sync: bool,
    /// Whether a compaction file existed when the power went.
    cut_in_compaction: bool,
}

/// The simulated disk (shared by the store's files).
#[derive(Debug, Clone, Default)]
pub(crate) struct SimFs(Arc<Mutex<Disk>>);

#[derive(Debug)]
struct SimFile {
    disk: SimFs,
    ino: usize,
    pos: u64,
}

fn dead() -> io::Error {
    io::Error::other("the power is off")
}

impl SimFs {
    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.0.lock().unwrap()
    }

    /// The power goes at mutating operation `n` (counted from 0 on this disk).
    pub(crate) fn cut_at(&self, n: u64) {
        self.disk().cut_at = Some(n);
    }

    /// Mutating operations done so far.
    pub(crate) fn ops(&self) -> u64 {
        self.disk().ops
    }

    /// Whether the power went.
    pub(crate) fn is_dead(&self) -> bool {
        self.disk().dead
    }

    /// Whether the power went while a compaction file existed.
    pub(crate) fn cut_in_compaction(&self) -> bool {
        self.disk().cut_in_compaction
    }

    /// Limits the room for file data to `bytes` more than is used now (`None`: no limit).
    pub(crate) fn set_space(&self, bytes: Option<u64>) {
        self.disk().space = bytes;
    }

    /// The next `fsync` of a file fails (and forgets the dirty data, as Linux does).
    pub(crate) fn fail_next_sync(&self) {
        self.disk().fail_next_sync = true;
    }

    /// A mutating operation: counts it, and fails it if the power goes now or went.
    fn step(d: &mut Disk) -> io::Result<()> {
        if d.dead {
            return Err(dead());
        }
        if d.cut_at == Some(d.ops) {
            d.dead = true;
            d.cut_in_compaction = d.names.keys().any(|p| p.ends_with(super::file::TMP_FILE));
            return Err(dead());
        }
        d.ops += 1;
        Ok(())
    }

    /// The disk as the next boot finds it after the power went (or now, if it did not).
    pub(crate) fn after_power_cut(&self, rng: &mut Rng) -> (SimFs, CutStats) {
        let d = self.disk();
        let mut stats = CutStats::default();
        let mut inodes = Vec::with_capacity(d.inodes.len());
        for ino in &d.inodes {
            let mut data = ino.durable.clone();
            let mut dropped_one = false;
            for op in &ino.pending {
                if rng.chance(2) {
                    stats.dropped += 1;
                    dropped_one = true;
                    continue;
                }
                if dropped_one {
                    stats.reordered += 1;
                }
                match op {
                    Op::Write { at, data: w } => {
                        let keep = if w.len() > 1 && rng.chance(3) {
                            stats.torn += 1;
                            rng.below(w.len() as u64) as usize
                        } else {
                            w.len()
                        };
                        write_into(&mut data, *at, &w[..keep]);
                    }
                    Op::SetLen(n) => data.resize(*n as usize, 0),
                }
            }
            inodes.push(Inode {
                cur: data.clone(),
                durable: data,
                pending: Vec::new(),
            });
        }
        let mut names = d.durable_names.clone();
        let keep = rng.below(d.dir_pending.len() as u64 + 1) as usize;
        stats.dir_lost = (d.dir_pending.len() - keep) as u64;
        for op in &d.dir_pending[..keep] {
            apply_dir(&mut names, op);
        }
        let disk = Disk {
            inodes,
            durable_names: names.clone(),
            names,
            ..Disk::default()
        };
        (SimFs(Arc::new(Mutex::new(disk))), stats)
    }

    /// The disk after the process was killed (the power stayed on): every write is there.
    pub(crate) fn after_kill(&self) -> SimFs {
        let d = self.disk();
        let inodes = d
            .inodes
            .iter()
            .map(|i| Inode {
                cur: i.cur.clone(),
                durable: i.cur.clone(),
                pending: Vec::new(),
            })
            .collect();
        let disk = Disk {
            inodes,
            names: d.names.clone(),
            durable_names: d.names.clone(),
            ..Disk::default()
        };
        SimFs(Arc::new(Mutex::new(disk)))
    }

    /// The current contents of `path`.
    pub(crate) fn read(&self, path: &Path) -> Option<Vec<u8>> {
        let d = self.disk();
        d.names.get(path).map(|&i| d.inodes[i].cur.clone())
    }

    /// Replaces the contents of `path` (durably), for tests that damage a log by hand.
    pub(crate) fn write(&self, path: &Path, data: &[u8]) {
        let mut d = self.disk();
        let i = match d.names.get(path) {
            Some(&i) => i,
            None => {
                d.inodes.push(Inode::default());
                let i = d.inodes.len() - 1;
                d.names.insert(path.to_path_buf(), i);
                d.durable_names.insert(path.to_path_buf(), i);
                i
            }
        };
        d.inodes[i] = Inode {
            cur: data.to_vec(),
            durable: data.to_vec(),
            pending: Vec::new(),
        };
    }
}

fn write_into(data: &mut Vec<u8>, at: u64, w: &[u8]) {
    let at = at as usize;
    if data.len() < at + w.len() {
        data.resize(at + w.len(), 0);
    }
    data[at..at + w.len()].copy_from_slice(w);
}

fn apply_dir(names: &mut BTreeMap<PathBuf, usize>, op: &DirOp) {
    match op {
        DirOp::Link(p, i) => {
            names.insert(p.clone(), *i);
        }
        DirOp::Unlink(p) => {
            names.remove(p);
        }
        DirOp::Rename(from, to) => {
            if let Some(i) = names.remove(from) {
                names.insert(to.clone(), i);
            }
        }
    }
}

impl Vfs for SimFs {
    fn create_dir_all(&self, _dir: &Path) -> io::Result<()> {
        if self.disk().dead {
            return Err(dead());
        }
        Ok(())
    }

    fn open_or_create(&self, path: &Path) -> io::Result<Box<dyn VFile>> {
        let mut d = self.disk();
        if d.dead {
            return Err(dead());
        }
        let ino = match d.names.get(path) {
            Some(&i) => i,
            None => {
                Self::step(&mut d)?;
                d.inodes.push(Inode::default());
                let i = d.inodes.len() - 1;
                d.names.insert(path.to_path_buf(), i);
                d.dir_pending.push(DirOp::Link(path.to_path_buf(), i));
                i
            }
        };
        drop(d);
        Ok(Box::new(SimFile {
            disk: self.clone(),
            ino,
            pos: 0,
        }))
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn VFile>> {
        let mut d = self.disk();
        Self::step(&mut d)?;
        if d.names.contains_key(path) {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        d.inodes.push(Inode::default());
        let ino = d.inodes.len() - 1;
        d.names.insert(path.to_path_buf(), ino);
        d.dir_pending.push(DirOp::Link(path.to_path_buf(), ino));
        drop(d);
        Ok(Box::new(SimFile {
            disk: self.clone(),
            ino,
            pos: 0,
        }))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut d = self.disk();
        if d.dead {
            return Err(dead());
        }
        if d.names.contains_key(path) {
            Self::step(&mut d)?;
            d.names.remove(path);
            d.dir_pending.push(DirOp::Unlink(path.to_path_buf()));
        }
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut d = self.disk();
        Self::step(&mut d)?;
        let i = d.names.remove(from).ok_or(io::ErrorKind::NotFound)?;
        d.names.insert(to.to_path_buf(), i);
        d.dir_pending
            .push(DirOp::Rename(from.to_path_buf(), to.to_path_buf()));
        Ok(())
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        let mut d = self.disk();
        Self::step(&mut d)?;
        d.durable_names = d.names.clone();
        d.dir_pending.clear();
        Ok(())
    }
}

impl SimFile {
    fn write_at_pos(&mut self, at: u64, buf: &[u8], advance: bool) -> io::Result<()> {
        let mut d = self.disk.disk();
        SimFs::step(&mut d)?;
        let end = at + buf.len() as u64;
        let grows = end.saturating_sub(d.inodes[self.ino].cur.len() as u64);
        let (n, full) = match d.space {
            Some(room) if grows > room => {
                // What fits lands; the rest fails.
                let fits = (buf.len() as u64 - (grows - room)) as usize;
                (fits, true)
            }
            _ => (buf.len(), false),
        };
        if let Some(room) = d.space.as_mut() {
            *room -= grows.min(*room);
        }
        let ino = &mut d.inodes[self.ino];
        write_into(&mut ino.cur, at, &buf[..n]);
        ino.pending.push(Op::Write {
            at,
            data: buf[..n].to_vec(),
        });
        if advance {
            self.pos = at + n as u64;
        }
        if full {
            return Err(io::ErrorKind::StorageFull.into());
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        let mut d = self.disk.disk();
        SimFs::step(&mut d)?;
        let fail = std::mem::take(&mut d.fail_next_sync);
        let ino = &mut d.inodes[self.ino];
        let pending = std::mem::take(&mut ino.pending);
        if fail {
            // The dirty pages are marked clean without reaching the disk: a later sync does
            // not write them either.
            return Err(io::Error::from_raw_os_error(5));
        }
        for op in pending {
            match op {
                Op::Write { at, data } => write_into(&mut ino.durable, at, &data),
                Op::SetLen(n) => ino.durable.resize(n as usize, 0),
            }
        }
        Ok(())
    }
}

impl VFile for SimFile {
    fn read_all(&mut self) -> io::Result<Vec<u8>> {
        let d = self.disk.disk();
        if d.dead {
            return Err(dead());
        }
        let data = d.inodes[self.ino].cur.clone();
        self.pos = data.len() as u64;
        Ok(data)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.write_at_pos(self.pos, buf, true)
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
        self.write_at_pos(offset, buf, false)
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        let mut d = self.disk.disk();
        SimFs::step(&mut d)?;
        let ino = &mut d.inodes[self.ino];
        ino.cur.resize(len as usize, 0);
        ino.pending.push(Op::SetLen(len));
        self.pos = len;
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.sync()
    }

    fn sync_all(&mut self) -> io::Result<()> {
        self.sync()
    }

    fn try_lock(&mut self) -> io::Result<bool> {
        if self.disk.disk().dead {
            return Err(dead());
        }
        Ok(true)
    }

    fn is_at(&self, path: &Path) -> io::Result<bool> {
        let d = self.disk.disk();
        if d.dead {
            return Err(dead());
        }
        Ok(d.names.get(path) == Some(&self.ino))
    }
}
