//! [`FileStore`]: the session kept in an append-only log on disk.

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use mqtt_proto::{PacketId, QoS};
use mqtt_session::VecStore;
use mqtt_session::{Outgoing, OutgoingInfo, OutgoingState, Store, StoreError as SessionStoreError};

use super::StoreError;
use super::record::{self, Frame, MAGIC, Record};

/// The log's file name inside the store directory.
pub const LOG_FILE: &str = "session.log";
/// The lock file's name inside the store directory.
pub const LOCK_FILE: &str = "lock";
const TMP_FILE: &str = "session.log.tmp";

/// Tuning of a [`FileStore`] ([`FileStore::open_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStoreOptions {
    /// Rewrite the log as a snapshot of the live state once it is this long and more than
    /// four times the snapshot's size (default 4 MiB).
    pub compact_at: u64,
    /// `fsync` in every accepted publish, before `publish` returns (default off: the record
    /// is written to the file at once, so a crash of the process cannot lose it, and synced
    /// before the PUBLISH goes out; see the [module docs](super)).
    pub sync_on_publish: bool,
}

impl Default for FileStoreOptions {
    fn default() -> Self {
        FileStoreOptions {
            compact_at: 4 << 20,
            sync_on_publish: false,
        }
    }
}

/// A received QoS 1/2 message recorded in the store, not yet done by the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Its number in the store: 1, 2, 3, ... in the order received, never reused.
    pub seq: u64,
    /// QoS 1 or 2.
    pub qos: QoS,
    /// Retain flag.
    pub retain: bool,
    /// DUP flag as received.
    pub dup: bool,
    /// Topic name.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
}

/// What writing needs, behind a `RefCell` so that the driver can record received messages and
/// sync through the session's shared reference to its store.
#[derive(Debug)]
struct Writer {
    file: File,
    /// Records of the batch being built (no `Commit` yet), not written.
    buf: Vec<u8>,
    /// Length of the file (whole batches only).
    len: u64,
    /// Bytes written since the last `fsync`.
    unsynced: bool,
    /// The first write or sync failure; the store refuses to go on after one.
    failed: Option<io::ErrorKind>,
    /// Received messages not done yet, oldest first.
    inbox: VecDeque<ReceivedMessage>,
    /// Highest `seq` handed out.
    received: u64,
    /// Every `seq` up to this is done.
    done: u64,
    /// Done recorded in the log (at most `done`).
    done_logged: u64,
    /// The last message the application took (it is working on it).
    taken: u64,
    /// Log length at which the next compaction is considered.
    compact_next: u64,
}

/// A durable [`Store`]: the persistent half of an MQTT session in an append-only log in a
/// directory, so that a process can be killed and restarted without losing a QoS 1/2 message
/// either way. See the [module docs](super) for what is written and synced when.
///
/// ```no_run
/// use mqtt_std::store::FileStore;
/// use mqtt_session::Store;
///
/// # fn main() -> Result<(), mqtt_std::store::StoreError> {
/// let store = FileStore::open("/var/lib/sensor-7/mqtt")?;
/// println!("{} messages to resend", store.outgoing_len());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    options: FileStoreOptions,
    /// Outgoing messages, in memory.
    outgoing: VecStore,
    /// Incoming QoS 2 ids awaiting PUBREL.
    incoming: BTreeSet<u16>,
    /// QoS 1/2 publishes ever accepted.
    accepted: u64,
    w: RefCell<Writer>,
    /// Held for the store's lifetime: the exclusive lock is released when it closes (or the
    /// process dies).
    _lock: File,
}

impl FileStore {
    /// Opens (or creates) the store in `dir` with the default options. See
    /// [`FileStore::open_with`].
    pub fn open(dir: impl AsRef<Path>) -> Result<FileStore, StoreError> {
        Self::open_with(dir, FileStoreOptions::default())
    }

    /// Opens (or creates) the store in `dir` (created if missing), takes its lock, and
    /// replays the log: the outgoing messages, incoming QoS 2 ids and received messages it
    /// holds are back, and a `Session` created over the store resends them.
    ///
    /// Fails with [`StoreError::Locked`] when another process (or another `FileStore` in this
    /// one) has it open, and [`StoreError::Corrupt`] when the log is damaged anywhere but at
    /// its very end. An incomplete last batch (a torn write: the process or the machine died
    /// while writing it) is cut off; nothing in it had been acted on.
    pub fn open_with(
        dir: impl AsRef<Path>,
        options: FileStoreOptions,
    ) -> Result<FileStore, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        let io = |what: &'static str| {
            let dir = dir.clone();
            move |e: io::Error| StoreError::Io {
                what,
                path: dir,
                kind: e.kind(),
                message: e.to_string(),
            }
        };
        fs::create_dir_all(&dir).map_err(io("create directory"))?;
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK_FILE))
            .map_err(io("open lock file"))?;
        match fs4::fs_std::FileExt::try_lock_exclusive(&lock) {
            Ok(true) => {}
            Ok(false) => return Err(StoreError::Locked { path: dir }),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(StoreError::Locked { path: dir });
            }
            Err(e) => return Err(io("lock")(e)),
        }
        // A compaction that died before its rename leaves a stale copy: the log is intact.
        let _ = fs::remove_file(dir.join(TMP_FILE));
        let path = dir.join(LOG_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("open log"))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io("read log"))?;

        let mut store = FileStore {
            dir: dir.clone(),
            options,
            outgoing: VecStore::new(),
            incoming: BTreeSet::new(),
            accepted: 0,
            w: RefCell::new(Writer {
                // Replaced below; `try_clone` keeps the struct simple to build.
                file: file.try_clone().map_err(io("open log"))?,
                buf: Vec::new(),
                len: 0,
                unsynced: false,
                failed: None,
                inbox: VecDeque::new(),
                received: 0,
                done: 0,
                done_logged: 0,
                taken: 0,
                compact_next: options.compact_at,
            }),
            _lock: lock,
        };

        let good = if bytes.is_empty() {
            file.write_all(MAGIC).map_err(io("write log"))?;
            file.sync_all().map_err(io("sync log"))?;
            sync_dir(&dir).map_err(io("sync directory"))?;
            MAGIC.len()
        } else {
            store
                .replay(&bytes)
                .map_err(|(offset, reason)| StoreError::Corrupt {
                    path: path.clone(),
                    offset,
                    reason,
                })?
        };
        if good < bytes.len() {
            // Cut the torn tail so that new batches follow whole ones.
            file.set_len(good as u64).map_err(io("truncate log"))?;
            file.sync_all().map_err(io("sync log"))?;
        }
        file.seek(SeekFrom::Start(good as u64))
            .map_err(io("seek log"))?;
        {
            let w = store.w.get_mut();
            w.file = file;
            w.len = good as u64;
            w.done_logged = w.done;
        }
        Ok(store)
    }

    /// Applies the log's whole batches; returns the length of the good prefix, or the offset
    /// and reason of damage that is not a torn end.
    fn replay(&mut self, bytes: &[u8]) -> Result<usize, (u64, &'static str)> {
        if bytes.len() < MAGIC.len() {
            return if MAGIC.starts_with(bytes) {
                Ok(0)
            } else {
                Err((0, "not a session store log (bad magic)"))
            };
        }
        if bytes.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
            return Err((0, "not a session store log (bad magic or version)"));
        }
        let mut pos = MAGIC.len();
        let mut good = pos;
        let mut batch: Vec<Record<'_>> = Vec::new();
        while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
            match record::frame(rest) {
                Frame::Whole(body, n) => {
                    let rec = Record::decode(body).map_err(|e| (pos as u64, e.0))?;
                    pos += n;
                    if rec == Record::Commit {
                        for r in batch.drain(..) {
                            self.apply(r).map_err(|e| (pos as u64, e))?;
                        }
                        good = pos;
                    } else {
                        batch.push(rec);
                    }
                }
                Frame::Torn | Frame::Bad => {
                    // The end of a torn write, unless a whole record follows somewhere:
                    // then the damage is in the middle, and guessing would misread.
                    if whole_record_after(bytes, pos + 1) {
                        return Err((pos as u64, "damaged record in the middle of the log"));
                    }
                    break;
                }
            }
        }
        Ok(good)
    }

    fn apply(&mut self, rec: Record<'_>) -> Result<(), &'static str> {
        let pid = |id: u16| PacketId::new(id).ok_or("packet id 0 in the log");
        let w = self.w.get_mut();
        match rec {
            Record::Push {
                packet_id,
                qos,
                retain,
                topic,
                payload,
            } => {
                let packet_id = pid(packet_id)?;
                let qos = match qos {
                    1 => QoS::AtLeastOnce,
                    2 => QoS::ExactlyOnce,
                    _ => return Err("bad QoS in an outgoing record"),
                };
                if self.outgoing.outgoing_position(packet_id).is_some() {
                    return Err("outgoing packet id recorded twice");
                }
                self.outgoing
                    .push_outgoing(&Outgoing {
                        packet_id,
                        qos,
                        retain,
                        state: OutgoingState::Publish,
                        topic,
                        payload,
                    })
                    .map_err(|_| "outgoing record refused")?;
                self.accepted = self.accepted.saturating_add(1);
            }
            Record::Release { packet_id } => {
                let id = pid(packet_id)?;
                let qos2 = self
                    .outgoing
                    .outgoing_position(id)
                    .and_then(|i| self.outgoing.outgoing_info(i))
                    .is_some_and(|m| m.qos == QoS::ExactlyOnce);
                if !qos2 || !self.outgoing.release_outgoing(id) {
                    return Err("release of an unknown outgoing QoS 2 message");
                }
            }
            Record::Remove { packet_id } => {
                if !self.outgoing.remove_outgoing(pid(packet_id)?) {
                    return Err("removal of an unknown outgoing message");
                }
            }
            Record::Renumber { old, new } => {
                let (old, new) = (pid(old)?, pid(new)?);
                if self.outgoing.outgoing_position(new).is_some() {
                    return Err("outgoing packet id renumbered to one in use");
                }
                if !self.outgoing.renumber_outgoing(old, new) {
                    return Err("renumbering of an unknown outgoing message");
                }
            }
            Record::InInsert { packet_id } => {
                pid(packet_id)?;
                if !self.incoming.insert(packet_id) {
                    return Err("incoming packet id recorded twice");
                }
            }
            Record::InRemove { packet_id } => {
                if !self.incoming.remove(&packet_id) {
                    return Err("removal of an unknown incoming packet id");
                }
            }
            Record::InClear => self.incoming.clear(),
            Record::Received {
                seq,
                qos,
                retain,
                dup,
                topic,
                payload,
            } => {
                if seq <= w.received {
                    return Err("received-message numbers out of order");
                }
                if seq == u64::MAX {
                    return Err("received-message number at its end");
                }
                let qos = match qos {
                    1 => QoS::AtLeastOnce,
                    2 => QoS::ExactlyOnce,
                    _ => return Err("bad QoS in a received-message record"),
                };
                w.received = seq;
                w.inbox.push_back(ReceivedMessage {
                    seq,
                    qos,
                    retain,
                    dup,
                    topic: topic.to_owned(),
                    payload: payload.to_vec(),
                });
            }
            Record::Done { seq } => {
                if seq > w.received {
                    return Err("done beyond the last received message");
                }
                w.done = w.done.max(seq);
                let done = w.done;
                w.inbox.retain(|m| m.seq > done);
            }
            Record::Commit => {}
            Record::Counters {
                accepted,
                received,
                done,
            } => {
                if done > received || received == u64::MAX {
                    return Err("bad counters");
                }
                self.accepted = accepted;
                w.received = received;
                w.done = done;
            }
        }
        Ok(())
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// QoS 1/2 publishes ever accepted into this store (carried across restarts and
    /// compactions). An application can derive its own progress from it: the `n`-th
    /// accepted publish is durable exactly when this count reached `n`.
    pub fn accepted_publishes(&self) -> u64 {
        self.accepted
    }

    /// Number of the last received message recorded (0 before the first).
    pub fn last_received(&self) -> u64 {
        self.w.borrow().received
    }

    /// Received messages not yet done by the application, oldest first (restored ones after
    /// a restart). See [`FileStore::mark_done`].
    pub fn pending_received(&self) -> Vec<ReceivedMessage> {
        self.w.borrow().inbox.iter().cloned().collect()
    }

    /// Incoming QoS 2 ids awaiting PUBREL.
    pub fn incoming_len(&self) -> usize {
        self.incoming.len()
    }

    /// Size of the log file in bytes (whole batches written so far).
    pub fn log_len(&self) -> u64 {
        self.w.borrow().len
    }

    /// The first write or sync failure, if any: the store then refuses new publishes and
    /// [`FileStore::sync`] fails, so nothing is acted on without being recorded.
    pub fn failure(&self) -> Option<io::ErrorKind> {
        self.w.borrow().failed
    }

    /// Records a received QoS 1/2 message (in the batch being built: written by the next
    /// [`FileStore::sync`], which the client runs before it sends the PUBACK or PUBREC) and
    /// returns its number. QoS 0 is not recorded (`None`).
    pub fn record_received(
        &self,
        qos: QoS,
        retain: bool,
        dup: bool,
        topic: &str,
        payload: &[u8],
    ) -> Option<u64> {
        let q = match qos {
            QoS::AtMostOnce => return None,
            QoS::AtLeastOnce => 1,
            QoS::ExactlyOnce => 2,
        };
        let mut w = self.w.borrow_mut();
        // Replay refuses a log whose counter is at its end, so this always moves on.
        let seq = w.received.saturating_add(1);
        w.received = seq;
        Record::Received {
            seq,
            qos: q,
            retain,
            dup,
            topic,
            payload,
        }
        .encode(&mut w.buf);
        w.inbox.push_back(ReceivedMessage {
            seq,
            qos,
            retain,
            dup,
            topic: topic.to_owned(),
            payload: payload.to_vec(),
        });
        Some(seq)
    }

    /// The application is done with every received message up to `seq` (it is not handed
    /// out again after a restart once this is written, by the next [`FileStore::sync`]).
    pub fn mark_done(&self, seq: u64) {
        let mut w = self.w.borrow_mut();
        let seq = seq.min(w.received);
        if seq <= w.done {
            return;
        }
        w.done = seq;
        w.inbox.retain(|m| m.seq > seq);
    }

    /// The application took message `seq`: it is done with every one before it (messages are
    /// handed out in order). `seq` itself is done when the next one is taken, or with
    /// [`FileStore::finish_taken`].
    ///
    /// The mark is written to the file at once (not synced), so that a killed process hands
    /// out again only the message it was working on.
    pub fn taken(&self, seq: u64) {
        self.w.borrow_mut().taken = seq;
        self.mark_done(seq.saturating_sub(1));
        let mut w = self.w.borrow_mut();
        // A failure is kept and reported by the next sync.
        let _ = self.write_batch(&mut w);
    }

    /// The application is done with the last message it took (it is closing).
    pub fn finish_taken(&self) {
        let seq = self.w.borrow().taken;
        self.mark_done(seq);
    }

    /// Writes the batch being built (with its `Commit`) and `fsync`s the log if anything was
    /// written since the last sync; compacts the log when it has grown enough. The client
    /// calls it before every write to the socket. Fails (and keeps failing) after a write or
    /// sync error.
    pub fn sync(&self) -> Result<(), io::ErrorKind> {
        let mut w = self.w.borrow_mut();
        self.write_batch(&mut w)?;
        if w.unsynced {
            if let Err(e) = w.file.sync_data() {
                w.failed = Some(e.kind());
                return Err(e.kind());
            }
            w.unsynced = false;
        }
        if w.len > w.compact_next {
            self.compact(&mut w)?;
        }
        Ok(())
    }

    /// Writes the pending records and their `Commit` (no sync).
    fn write_batch(&self, w: &mut Writer) -> Result<(), io::ErrorKind> {
        if let Some(kind) = w.failed {
            return Err(kind);
        }
        if w.done > w.done_logged {
            let seq = w.done;
            Record::Done { seq }.encode(&mut w.buf);
            w.done_logged = seq;
        }
        if w.buf.is_empty() {
            return Ok(());
        }
        Record::Commit.encode(&mut w.buf);
        if let Err(e) = w.file.write_all(&w.buf) {
            // A partial batch has no Commit: replay ignores it. Nothing more is written.
            w.failed = Some(e.kind());
            return Err(e.kind());
        }
        w.len += w.buf.len() as u64;
        w.buf.clear();
        w.unsynced = true;
        Ok(())
    }

    /// The live state as one batch.
    fn snapshot(&self, w: &Writer) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(MAGIC);
        // The received messages below raise the counter back to `w.received`.
        let received = w
            .inbox
            .front()
            .map_or(w.received, |m| m.seq.saturating_sub(1));
        // Likewise the outgoing messages below count as accepted again.
        let held = self.outgoing.outgoing_len() as u64;
        Record::Counters {
            accepted: self.accepted.saturating_sub(held),
            received,
            done: w.done.min(received),
        }
        .encode(&mut out);
        for i in 0..self.outgoing.outgoing_len() {
            let Some(m) = self.outgoing.outgoing(i) else {
                continue;
            };
            push_record(&m).encode(&mut out);
            if m.state == OutgoingState::Released {
                Record::Release {
                    packet_id: m.packet_id.0.get(),
                }
                .encode(&mut out);
            }
        }
        for &packet_id in &self.incoming {
            Record::InInsert { packet_id }.encode(&mut out);
        }
        for m in &w.inbox {
            Record::Received {
                seq: m.seq,
                qos: qos_u8(m.qos),
                retain: m.retain,
                dup: m.dup,
                topic: &m.topic,
                payload: &m.payload,
            }
            .encode(&mut out);
        }
        Record::Commit.encode(&mut out);
        out
    }

    /// Rewrites the log as a snapshot when it is much larger than the snapshot: write a new
    /// file, `fsync` it, rename it over the log, `fsync` the directory.
    fn compact(&self, w: &mut Writer) -> Result<(), io::ErrorKind> {
        let snap = self.snapshot(w);
        // Not worth it yet: look again once the log has grown past four snapshots.
        let next = (snap.len() as u64)
            .saturating_mul(4)
            .max(self.options.compact_at);
        if next > w.len {
            w.compact_next = next;
            return Ok(());
        }
        let tmp = self.dir.join(TMP_FILE);
        let result = (|| -> io::Result<File> {
            let mut f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            f.write_all(&snap)?;
            f.sync_all()?;
            fs::rename(&tmp, self.dir.join(LOG_FILE))?;
            sync_dir(&self.dir)?;
            Ok(f)
        })();
        match result {
            Ok(f) => {
                w.file = f;
                w.len = snap.len() as u64;
                w.compact_next = next;
                w.unsynced = false;
                Ok(())
            }
            Err(e) => {
                // The old log is intact unless the rename happened; either way stop here.
                let _ = fs::remove_file(&tmp);
                w.failed = Some(e.kind());
                Err(e.kind())
            }
        }
    }

    /// Compacts now, whatever the log's size (for tests and tools).
    pub fn compact_now(&self) -> Result<(), io::ErrorKind> {
        let mut w = self.w.borrow_mut();
        self.write_batch(&mut w)?;
        let len = w.len;
        w.len = u64::MAX;
        let r = self.compact(&mut w);
        if w.len == u64::MAX {
            w.len = len;
        }
        r
    }

    fn log(&mut self, rec: Record<'_>) {
        rec.encode(&mut self.w.get_mut().buf);
    }
}

/// Whether a whole record with a valid body starts at any offset from `from` on.
fn whole_record_after(bytes: &[u8], from: usize) -> bool {
    (from..bytes.len()).any(|q| match bytes.get(q..).map(record::frame) {
        Some(Frame::Whole(body, _)) => Record::decode(body).is_ok(),
        _ => false,
    })
}

fn qos_u8(q: QoS) -> u8 {
    match q {
        QoS::AtMostOnce => 0,
        QoS::AtLeastOnce => 1,
        QoS::ExactlyOnce => 2,
    }
}

fn push_record<'a>(m: &Outgoing<'a>) -> Record<'a> {
    Record::Push {
        packet_id: m.packet_id.0.get(),
        qos: qos_u8(m.qos),
        retain: m.retain,
        topic: m.topic,
        payload: m.payload,
    }
}

/// `fsync` a directory so that a file created or renamed in it survives a power cut.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

impl Drop for FileStore {
    fn drop(&mut self) {
        // A clean close leaves nothing unwritten; errors have nowhere to go.
        let _ = self.sync();
    }
}

impl Store for FileStore {
    fn outgoing_len(&self) -> usize {
        self.outgoing.outgoing_len()
    }

    fn outgoing(&self, index: usize) -> Option<Outgoing<'_>> {
        self.outgoing.outgoing(index)
    }

    fn outgoing_info(&self, index: usize) -> Option<OutgoingInfo> {
        self.outgoing.outgoing_info(index)
    }

    fn outgoing_position(&self, packet_id: PacketId) -> Option<usize> {
        self.outgoing.outgoing_position(packet_id)
    }

    /// Written to the file before it returns (with the batch built so far), so that a crash
    /// of the process cannot lose an accepted publish; `fsync`ed too with
    /// [`FileStoreOptions::sync_on_publish`], else by the next [`FileStore::sync`].
    fn push_outgoing(&mut self, message: &Outgoing<'_>) -> Result<(), SessionStoreError> {
        if self.w.get_mut().failed.is_some() {
            return Err(SessionStoreError::Backend);
        }
        let mark = self.w.get_mut().buf.len();
        push_record(message).encode(&mut self.w.get_mut().buf);
        let written = if self.options.sync_on_publish {
            self.sync()
        } else {
            let mut w = self.w.borrow_mut();
            self.write_batch(&mut w)
        };
        if written.is_err() {
            let w = self.w.get_mut();
            w.buf.truncate(mark);
            return Err(SessionStoreError::Backend);
        }
        self.outgoing.push_outgoing(message)?;
        self.accepted = self.accepted.saturating_add(1);
        Ok(())
    }

    fn release_outgoing(&mut self, packet_id: PacketId) -> bool {
        let released = self
            .outgoing
            .outgoing_position(packet_id)
            .and_then(|i| self.outgoing.outgoing_info(i))
            .is_some_and(|m| m.state == OutgoingState::Released);
        let found = self.outgoing.release_outgoing(packet_id);
        if found && !released {
            self.log(Record::Release {
                packet_id: packet_id.0.get(),
            });
        }
        found
    }

    fn remove_outgoing(&mut self, packet_id: PacketId) -> bool {
        let found = self.outgoing.remove_outgoing(packet_id);
        if found {
            self.log(Record::Remove {
                packet_id: packet_id.0.get(),
            });
        }
        found
    }

    fn renumber_outgoing(&mut self, old: PacketId, new: PacketId) -> bool {
        let found = self.outgoing.renumber_outgoing(old, new);
        if found {
            self.log(Record::Renumber {
                old: old.0.get(),
                new: new.0.get(),
            });
        }
        found
    }

    fn contains_incoming(&self, packet_id: PacketId) -> bool {
        self.incoming.contains(&packet_id.0.get())
    }

    fn insert_incoming(&mut self, packet_id: PacketId) -> Result<(), SessionStoreError> {
        if self.w.get_mut().failed.is_some() {
            return Err(SessionStoreError::Backend);
        }
        if self.incoming.insert(packet_id.0.get()) {
            self.log(Record::InInsert {
                packet_id: packet_id.0.get(),
            });
        }
        Ok(())
    }

    fn remove_incoming(&mut self, packet_id: PacketId) -> bool {
        let found = self.incoming.remove(&packet_id.0.get());
        if found {
            self.log(Record::InRemove {
                packet_id: packet_id.0.get(),
            });
        }
        found
    }

    fn clear_incoming(&mut self) {
        if !self.incoming.is_empty() {
            self.incoming.clear();
            self.log(Record::InClear);
        }
    }
}
