//! Compaction: the log rewritten as a snapshot of the live state (when it has grown enough,
//! or to recover after a failure), locked and renamed over the old one.

use mqtt_session::{OutgoingState, Store};

use super::super::StoreError;
use super::super::record::{self, Batch, FILE_HEADER, Record};
use super::super::vfs::VFile;
use super::{FileStore, LOG_FILE, TMP_FILE, Writer, fail, io_error, push_record, qos_u8};

impl FileStore {
    /// The live state as a log of one batch.
    fn snapshot(&self, w: &Writer) -> Vec<u8> {
        let mut b = Batch::default();
        // The received messages below raise the counter back to `w.received`.
        let received = w
            .inbox
            .front()
            .map_or(w.received, |m| m.seq.saturating_sub(1));
        // Likewise the outgoing messages below count as accepted again.
        let held = self.outgoing.outgoing_len() as u64;
        b.push(&Record::Counters {
            accepted: self.accepted.saturating_sub(held),
            received,
            done: w.done.min(received),
        });
        for i in 0..self.outgoing.outgoing_len() {
            let Some(m) = self.outgoing.outgoing(i) else {
                continue;
            };
            b.push(&push_record(&m, self.epoch_ms));
            if m.state == OutgoingState::Released {
                b.push(&Record::Release {
                    packet_id: m.packet_id.0.get(),
                });
            }
        }
        for &packet_id in &self.incoming {
            b.push(&Record::InInsert { packet_id });
        }
        for m in &w.inbox {
            b.push(&Record::Received {
                seq: m.seq,
                qos: qos_u8(m.qos),
                retain: m.retain,
                dup: m.dup,
                topic: &m.topic,
                payload: &m.payload,
            });
        }
        let body = b.seal(0);
        let len = (FILE_HEADER + body.len()) as u64;
        let mut out = Vec::with_capacity(FILE_HEADER + body.len());
        // The whole file is synced before it is renamed over the log.
        out.extend_from_slice(&record::file_header(len));
        out.extend_from_slice(body);
        out
    }

    /// Compacts when the log is much larger than a snapshot of the live state.
    pub(super) fn compact(&self, w: &mut Writer) -> Result<(), StoreError> {
        let snap = self.snapshot(w);
        // Not worth it yet: look again once the log has grown past four snapshots.
        let next = (snap.len() as u64)
            .saturating_mul(4)
            .max(self.options.compact_at);
        if next > w.len {
            w.compact_next = next;
            return Ok(());
        }
        self.replace_log(w, &snap)?;
        w.compact_next = next;
        Ok(())
    }

    /// Rewrites the log from the state in memory.
    pub(super) fn rewrite(&self, w: &mut Writer) -> Result<(), StoreError> {
        let snap = self.snapshot(w);
        self.replace_log(w, &snap)
    }

    /// Replaces the log with `snap`: write a new file, `fsync` it, rename it over the log,
    /// `fsync` the directory. The new file is locked before its rename, so that the file at
    /// the log's path is locked at every moment.
    fn replace_log(&self, w: &mut Writer, snap: &[u8]) -> Result<(), StoreError> {
        let dir = &self.dir;
        let tmp = dir.join(TMP_FILE);
        let fs = &self.fs;
        let result = (|| -> Result<Box<dyn VFile>, StoreError> {
            fs.remove_file(&tmp)
                .map_err(io_error(dir, "remove stale compaction file"))?;
            let mut f = fs
                .create_new(&tmp)
                .map_err(io_error(dir, "create compaction file"))?;
            let locked = f
                .try_lock()
                .map_err(io_error(dir, "lock compaction file"))?;
            if !locked {
                return Err(StoreError::Locked {
                    path: dir.to_path_buf(),
                });
            }
            f.write_all(snap)
                .map_err(io_error(dir, "write compaction file"))?;
            f.sync_all()
                .map_err(io_error(dir, "sync compaction file"))?;
            Ok(f)
        })();
        let f = match result {
            Ok(f) => f,
            Err(e) => {
                // The old log is intact.
                let _ = fs.remove_file(&tmp);
                return Err(fail(w, e));
            }
        };
        if let Err(e) = fs.rename(&tmp, &dir.join(LOG_FILE)) {
            let _ = fs.remove_file(&tmp);
            return Err(fail(w, io_error(dir, "rename compaction file")(e)));
        }
        // The new log is at the path now: write there whatever happens next.
        w.file = f;
        w.len = snap.len() as u64;
        w.synced = w.len;
        w.unsynced = false;
        w.batch.clear();
        w.done_logged = w.done;
        if let Err(e) = fs.sync_dir(dir) {
            return Err(fail(w, io_error(dir, "sync directory")(e)));
        }
        Ok(())
    }
}
