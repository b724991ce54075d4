//! Opening a store: the lock, and the replay of the log (linear: from batch header to batch
//! header, never searching inside data).

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::path::Path;

use mqtt_proto::{PacketId, QoS};
use mqtt_session::{Instant, Outgoing, OutgoingState, Store, VecStore};

use super::super::StoreError;
use super::super::crc::crc32;
use super::super::record::{
    self, BATCH_HEADER, Batch, FILE_HEADER, MAGIC, MAGIC_V1, Record, SLOT_AT,
};
use super::super::vfs::Vfs;
use super::{FileStore, FileStoreOptions, LOG_FILE, ReceivedMessage, TMP_FILE, Writer, io_error};

/// How long a refused lock is tried again before the store is reported as in use.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(300);

impl FileStore {
    /// [`FileStore::open_with`] over the given file system.
    pub(crate) fn open_in(
        fs: Box<dyn Vfs>,
        dir: &Path,
        options: FileStoreOptions,
    ) -> Result<FileStore, StoreError> {
        // The session's clock is taken to start now (a client starts it just before it
        // opens the store): deadlines recorded on the wall clock are handed back on it.
        let epoch_ms = fs.wall_ms();
        fs.create_dir_all(dir)
            .map_err(io_error(dir, "create directory"))?;
        let path = dir.join(LOG_FILE);
        // A compaction in another process can rename a new log over the one opened here
        // before it is locked: then the lock is on a file nobody uses, and the new one is
        // opened again.
        let mut file = None;
        //
        // A lock held by a closed store can also linger for a moment: a child process forked
        // by another thread shares the open file until it calls exec. So a refused lock is
        // tried again for a short while before the store is reported as in use.
        let give_up = std::time::Instant::now() + LOCK_PATIENCE;
        let mut attempts = 0;
        while attempts < 16 {
            let mut f = fs
                .open_or_create(&path)
                .map_err(io_error(dir, "open log"))?;
            if !f.try_lock().map_err(io_error(dir, "lock log"))? {
                if std::time::Instant::now() < give_up {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                }
                return Err(StoreError::Locked {
                    path: dir.to_path_buf(),
                });
            }
            attempts += 1;
            if f.is_at(&path).map_err(io_error(dir, "open log"))? {
                file = Some(f);
                break;
            }
        }
        let Some(mut file) = file else {
            return Err(StoreError::Locked {
                path: dir.to_path_buf(),
            });
        };
        // A compaction that died before its rename leaves a stale copy: the log is intact.
        fs.remove_file(&dir.join(TMP_FILE))
            .map_err(io_error(dir, "remove stale compaction file"))?;
        let bytes = file.read_all().map_err(io_error(dir, "read log"))?;

        let mut store = FileStore {
            dir: dir.to_path_buf(),
            options,
            fs,
            outgoing: VecStore::new(),
            incoming: BTreeSet::new(),
            accepted: 0,
            epoch_ms,
            w: RefCell::new(Writer {
                file,
                batch: Batch::default(),
                len: 0,
                synced: 0,
                unsynced: false,
                failed: None,
                inbox: VecDeque::new(),
                received: 0,
                done: 0,
                done_logged: 0,
                taken: 0,
                compact_next: options.compact_at,
            }),
        };
        let good = store
            .replay(&bytes)
            .map_err(|(offset, reason)| StoreError::Corrupt {
                path: path.clone(),
                offset,
                reason,
            })?;
        let file_len = bytes.len();
        drop(bytes);
        let w = store.w.get_mut();
        if good == 0 {
            // New, or a crash before its header was on disk: write the header (again).
            let f = &mut w.file;
            f.truncate(0).map_err(io_error(dir, "truncate log"))?;
            let header = record::file_header(FILE_HEADER as u64);
            f.write_all(&header).map_err(io_error(dir, "write log"))?;
            f.sync_all().map_err(io_error(dir, "sync log"))?;
            store
                .fs
                .sync_dir(dir)
                .map_err(io_error(dir, "sync directory"))?;
            w.len = FILE_HEADER as u64;
        } else {
            // Cut the torn tail (or only put the position at the end), and say what is on
            // disk now.
            let f = &mut w.file;
            f.truncate(good as u64)
                .map_err(io_error(dir, "truncate log"))?;
            if good < file_len {
                f.sync_all().map_err(io_error(dir, "sync log"))?;
            }
            f.write_at(SLOT_AT, &record::slot(good as u64))
                .map_err(io_error(dir, "write log"))?;
            w.len = good as u64;
        }
        w.synced = w.len;
        w.done_logged = w.done;
        Ok(store)
    }

    /// Applies the log's whole batches; returns the length of the good prefix (0: no
    /// header), or the offset and reason of damage where the log had been synced.
    fn replay(&mut self, bytes: &[u8]) -> Result<usize, (u64, &'static str)> {
        let Some(magic) = bytes.get(..MAGIC.len()) else {
            return if MAGIC.starts_with(bytes) {
                Ok(0)
            } else {
                Err((0, "not a session store log (bad magic)"))
            };
        };
        if magic == MAGIC_V1 {
            return Err((
                0,
                "a log in the first format (version 1), which this version does not read",
            ));
        }
        if magic != MAGIC {
            return Err((0, "not a session store log (bad magic or version)"));
        }
        if bytes.len() < FILE_HEADER {
            // A crash while the header was being written: nothing else was.
            return Ok(0);
        }
        // The first damaged batch, and the furthest point known to have been on disk: the
        // file header's slot (torn: nothing known), or a later batch header.
        let mut on_disk =
            record::read_slot(bytes.get(SLOT_AT as usize..).unwrap_or_default()).unwrap_or(0);
        if on_disk > bytes.len() as u64 {
            return Err((
                bytes.len() as u64,
                "the log is shorter than what had been synced to disk",
            ));
        }
        let mut pos = FILE_HEADER;
        let mut good = pos;
        let mut damage: Option<usize> = None;
        while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
            let Some(h) = record::header(rest) else {
                // A header cut short, zeros or garbage: the end of what can be read.
                damage.get_or_insert(pos);
                break;
            };
            if h.synced > pos as u64 {
                return Err((
                    pos as u64,
                    "batch header claims more on disk than precedes it",
                ));
            }
            on_disk = on_disk.max(h.synced);
            let end = usize::try_from(h.body_len)
                .ok()
                .and_then(|n| n.checked_add(pos + BATCH_HEADER))
                .filter(|&end| end <= bytes.len());
            let Some(end) = end else {
                // A valid header whose body runs past the end: a torn last write.
                damage.get_or_insert(pos);
                break;
            };
            let body = bytes.get(pos + BATCH_HEADER..end).unwrap_or_default();
            if damage.is_none() {
                if crc32(body) == h.body_crc {
                    let batch = record::records(body)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| (pos as u64, e.0))?;
                    for r in batch {
                        self.apply(r).map_err(|e| (pos as u64, e))?;
                    }
                    good = end;
                } else {
                    // Walk on by the headers' lengths (never searching inside bodies): a
                    // later header may say this part had been on disk.
                    damage = Some(pos);
                }
            }
            pos = end;
        }
        match damage {
            Some(at) if (at as u64) < on_disk => Err((
                at as u64,
                "damaged batch in the part of the log that had been synced",
            )),
            _ => Ok(good),
        }
    }

    /// An outgoing message, its deadline (if any) on the wall clock.
    #[allow(clippy::too_many_arguments)]
    fn apply_push(
        &mut self,
        packet_id: PacketId,
        qos: u8,
        retain: bool,
        expires: Option<u64>,
        properties: &[u8],
        topic: &str,
        payload: &[u8],
    ) -> Result<(), &'static str> {
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
                properties,
                // The deadline on this process's clock: what is left of it counted from the
                // store's opening, nothing if it passed while the process was down.
                expires: expires.map(|at| Instant::from_millis(at.saturating_sub(self.epoch_ms))),
            })
            .map_err(|_| "outgoing record refused")?;
        self.accepted = self.accepted.saturating_add(1);
        Ok(())
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
            } => self.apply_push(pid(packet_id)?, qos, retain, None, &[], topic, payload)?,
            Record::PushV5 {
                packet_id,
                qos,
                retain,
                expires,
                properties,
                topic,
                payload,
            } => self.apply_push(
                pid(packet_id)?,
                qos,
                retain,
                expires,
                properties,
                topic,
                payload,
            )?,
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
}
