//! [`FileStore`]: the session kept in an append-only log on disk.

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::path::{Path, PathBuf};

use mqtt_proto::{PacketId, QoS};
use mqtt_session::VecStore;
use mqtt_session::{Outgoing, OutgoingInfo, OutgoingState, Store, StoreError as SessionStoreError};

use super::StoreError;
use super::record::{self, Batch, Record, SLOT_AT};
use super::vfs::{OsFs, VFile, Vfs};

/// The log's file name inside the store directory.
pub const LOG_FILE: &str = "session.log";
/// The file a compaction writes before renaming it over the log.
pub(crate) const TMP_FILE: &str = "session.log.tmp";

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
    /// The log, locked for as long as the store is open.
    file: Box<dyn VFile>,
    /// The batch being built, not written.
    batch: Batch,
    /// Length of the log (whole batches only).
    len: u64,
    /// Length of the log known to be on disk (the last successful `fdatasync`).
    synced: u64,
    /// Bytes written since the last `fsync`.
    unsynced: bool,
    /// The first write or sync failure since the store last worked. The next write starts
    /// by rewriting the log from the state in memory (the file may hold part of a batch, and
    /// after a failed `fsync` the kernel may have dropped what it had): the store works
    /// again once the disk does.
    failed: Option<StoreError>,
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
    fs: Box<dyn Vfs>,
    /// Outgoing messages, in memory.
    outgoing: VecStore,
    /// Incoming QoS 2 ids awaiting PUBREL.
    incoming: BTreeSet<u16>,
    /// QoS 1/2 publishes ever accepted.
    accepted: u64,
    /// The wall-clock time (ms since the Unix epoch) taken as the session's
    /// [`Instant::ZERO`](mqtt_session::Instant::ZERO): when the store was opened.
    epoch_ms: u64,
    w: RefCell<Writer>,
}

mod compact;
mod replay;

/// A failed file operation as a [`StoreError`].
fn io_error<'a>(dir: &'a Path, what: &'static str) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |e: io::Error| StoreError::Io {
        what,
        path: dir.to_path_buf(),
        kind: e.kind(),
        message: e.to_string(),
    }
}

impl FileStore {
    /// Opens (or creates) the store in `dir` with the default options. See
    /// [`FileStore::open_with`].
    pub fn open(dir: impl AsRef<Path>) -> Result<FileStore, StoreError> {
        Self::open_with(dir, FileStoreOptions::default())
    }

    /// Opens (or creates) the store in `dir` (created if missing, private to the user),
    /// locks its log, and replays it: the outgoing messages, incoming QoS 2 ids and received
    /// messages it holds are back, and a `Session` created over the store resends them.
    ///
    /// Fails with [`StoreError::Locked`] when another process (or another `FileStore` in this
    /// one) has it open, and [`StoreError::Corrupt`] when the log is damaged where it had
    /// been synced to disk. The end of the log that was not synced (a torn last write, or
    /// what a power cut left of the unsynced tail) is cut off: nothing in it had been acted
    /// on. Reopening takes time linear in the log's length, whatever its damage.
    pub fn open_with(
        dir: impl AsRef<Path>,
        options: FileStoreOptions,
    ) -> Result<FileStore, StoreError> {
        Self::open_in(Box::new(OsFs), dir.as_ref(), options)
    }
}

impl FileStore {
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

    /// The incoming QoS 2 ids awaiting PUBREL, in order.
    pub fn incoming_ids(&self) -> impl Iterator<Item = PacketId> + '_ {
        self.incoming.iter().filter_map(|&id| PacketId::new(id))
    }

    /// Incoming QoS 2 ids awaiting PUBREL.
    pub fn incoming_len(&self) -> usize {
        self.incoming.len()
    }

    /// Size of the log file in bytes (whole batches written so far).
    pub fn log_len(&self) -> u64 {
        self.w.borrow().len
    }

    /// The write or sync failure the store has not recovered from, if any. While there is
    /// one, every write starts by rewriting the log from the state in memory; until that
    /// works, new publishes are refused and [`FileStore::sync`] fails, so nothing is acted on
    /// without being recorded.
    pub fn failure(&self) -> Option<StoreError> {
        self.w.borrow().failed.clone()
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
        w.batch.push(&Record::Received {
            seq,
            qos: q,
            retain,
            dup,
            topic,
            payload,
        });
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

    /// Writes the batch being built and `fsync`s the log if anything was written since the
    /// last sync; compacts the log when it has grown enough. The client calls it before every
    /// write to the socket. After a failure, it first rewrites the log from the state in
    /// memory, and fails until that works.
    pub fn sync(&self) -> Result<(), StoreError> {
        let mut w = self.w.borrow_mut();
        self.write_batch(&mut w)?;
        self.sync_file(&mut w)?;
        if w.len > w.compact_next {
            self.compact(&mut w)?;
        }
        Ok(())
    }

    /// `fdatasync`s what was written since the last time, and says so in the slot.
    fn sync_file(&self, w: &mut Writer) -> Result<(), StoreError> {
        if w.unsynced {
            if let Err(e) = w.file.sync_data() {
                return Err(fail(w, io_error(&self.dir, "sync log")(e)));
            }
            w.unsynced = false;
            w.synced = w.len;
            // Say so in the file header: damage before this point is then damage to synced
            // data (an error), not what a power cut left of an unsynced tail. The slot needs
            // no sync of its own: it rides on the next one.
            let slot = record::slot(w.synced);
            if let Err(e) = w.file.write_at(SLOT_AT, &slot) {
                return Err(fail(w, io_error(&self.dir, "write log")(e)));
            }
        }
        Ok(())
    }

    /// After a failure: the log rewritten from the state in memory, or the failure.
    fn recover(&self, w: &mut Writer) -> Result<(), StoreError> {
        if w.failed.is_some() {
            self.rewrite(w)?;
            w.failed = None;
        }
        Ok(())
    }

    /// Writes the batch being built (no sync).
    fn write_batch(&self, w: &mut Writer) -> Result<(), StoreError> {
        self.recover(w)?;
        if w.done > w.done_logged {
            let seq = w.done;
            w.batch.push(&Record::Done { seq });
            w.done_logged = seq;
        }
        if w.batch.is_empty() {
            return Ok(());
        }
        let synced = w.synced;
        let n = {
            let Writer { file, batch, .. } = &mut *w;
            let bytes = batch.seal(synced);
            file.write_all(bytes).map(|()| bytes.len())
        };
        match n {
            Ok(n) => {
                w.len += n as u64;
                w.batch.clear();
                w.unsynced = true;
                Ok(())
            }
            // Part of the batch may be in the file: the recovery rewrites it.
            Err(e) => Err(fail(w, io_error(&self.dir, "write log")(e))),
        }
    }

    /// Compacts now, whatever the log's size (for tests and tools).
    pub fn compact_now(&self) -> Result<(), StoreError> {
        let mut w = self.w.borrow_mut();
        self.write_batch(&mut w)?;
        self.rewrite(&mut w)
    }

    fn log(&mut self, rec: Record<'_>) {
        self.w.get_mut().batch.push(&rec);
    }
}

/// Keeps the first failure and returns it.
fn fail(w: &mut Writer, e: StoreError) -> StoreError {
    w.failed.get_or_insert(e).clone()
}

fn qos_u8(q: QoS) -> u8 {
    match q {
        QoS::AtMostOnce => 0,
        QoS::AtLeastOnce => 1,
        QoS::ExactlyOnce => 2,
    }
}

/// The record of an outgoing message: `Push` as before for one without 5.0 properties or
/// expiry, else `PushV5` with its deadline on the wall clock (`epoch_ms` being the session's
/// [`Instant::ZERO`](mqtt_session::Instant::ZERO)).
fn push_record<'a>(m: &Outgoing<'a>, epoch_ms: u64) -> Record<'a> {
    if m.properties.is_empty() && m.expires.is_none() {
        return Record::Push {
            packet_id: m.packet_id.0.get(),
            qos: qos_u8(m.qos),
            retain: m.retain,
            topic: m.topic,
            payload: m.payload,
        };
    }
    Record::PushV5 {
        packet_id: m.packet_id.0.get(),
        qos: qos_u8(m.qos),
        retain: m.retain,
        expires: m.expires.map(|at| epoch_ms.saturating_add(at.as_millis())),
        properties: m.properties,
        topic: m.topic,
        payload: m.payload,
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
        {
            // Recover first: the rewrite does not hold this message.
            let mut w = self.w.borrow_mut();
            if self.recover(&mut w).is_err() {
                return Err(SessionStoreError::Backend);
            }
        }
        // In memory first: a compaction while it is written keeps it.
        self.outgoing.push_outgoing(message)?;
        let accepted = self.accepted;
        self.accepted = self.accepted.saturating_add(1);
        let mark = self.w.get_mut().batch.mark();
        self.w
            .get_mut()
            .batch
            .push(&push_record(message, self.epoch_ms));
        let written = {
            let mut w = self.w.borrow_mut();
            self.write_batch(&mut w).and_then(|()| {
                if self.options.sync_on_publish {
                    self.sync_file(&mut w)
                } else {
                    Ok(())
                }
            })
        };
        if written.is_err() {
            self.w.get_mut().batch.truncate(mark);
            self.outgoing.remove_outgoing(message.packet_id);
            self.accepted = accepted;
            return Err(SessionStoreError::Backend);
        }
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

    /// Recorded in the batch being built; a store that fails reports it from the
    /// [`FileStore::sync`] the client runs before it sends the PUBREC.
    fn insert_incoming(&mut self, packet_id: PacketId) -> Result<(), SessionStoreError> {
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
