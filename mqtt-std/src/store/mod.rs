//! Durable sessions: [`FileStore`] keeps the client's half of an MQTT session on disk, so
//! that a process can be killed and restarted without losing a QoS 1/2 message.
//!
//! With clean session off, the broker keeps its half of the session (subscriptions, messages
//! queued for the client, QoS 1/2 flows in progress). The client must keep its half: the
//! outgoing QoS 1/2 messages not yet acknowledged, the outgoing QoS 2 messages waiting for
//! PUBCOMP, the incoming QoS 2 packet ids waiting for PUBREL, and the received messages the
//! application has not finished with. [`ClientOptions::session_store`](crate::ClientOptions::session_store)
//! puts them in a [`FileStore`] in a directory.
//!
//! # The log
//!
//! One append-only file, `DIR/session.log`: a 24-byte header (`MQTTSES`, the format version,
//! and a *synced slot*: the length of the log known to be on disk, with its CRC-32,
//! rewritten in place after every `fdatasync`), then batches: `body length (u64) | synced
//! mark (u64) | CRC-32 of the body | CRC-32 of the header | body`, the body being the
//! batch's records. Reopening applies whole batches only, walking from one header to the
//! next by their lengths: it never looks for a record inside data, so no payload can pass
//! for one, and a torn end (a valid header whose body runs past the end of the file) is
//! found at once whatever its size. Reopening is linear in the log's length.
//!
//! The directory is created 0700 and the log 0600 (a log readable by others is made
//! private on open); the compaction file is created new (`O_EXCL`, `O_NOFOLLOW`), so a
//! symbolic link planted at its name is never followed. The log itself carries an exclusive
//! advisory lock (`flock`) for as long as the store is open, moved to the new file before a
//! compaction renames it over the log: a second process (or a second client in the same
//! one) gets [`StoreError::Locked`] (after 0.3 s of trying again: a lock can linger for a
//! moment in a child process forked just before its store closed). The operating system releases the lock when the
//! process dies, so a killed process can be restarted at once.
//!
//! # What is written and synced when
//!
//! * **An accepted publish** (QoS 1/2): its record (topic, payload, packet id, 5.0
//!   properties and deadline) is written to
//!   the file before [`Client::publish`](crate::Client::publish) returns `Ok`, so killing the
//!   process after that cannot lose it. It is `fsync`ed before the PUBLISH goes on the wire
//!   (or before `publish` returns, with [`FileStoreOptions::sync_on_publish`]).
//! * **Everything the IO thread learns from the broker**: PUBREC (the message waits for
//!   PUBCOMP), PUBACK/PUBCOMP (the message is done), an incoming QoS 2 id (and the received
//!   message itself), PUBREL (the id is forgotten), a received QoS 1 message. These are
//!   collected in a batch that is written and `fsync`ed (one `fdatasync` for all of them)
//!   **before the client writes anything to the socket**. So the broker never sees a PUBACK,
//!   PUBREC, PUBREL or PUBCOMP for a state change that is not on disk: after a restart the
//!   client never resends a PUBLISH the broker completed, never forgets a QoS 2 id the broker
//!   still owes a PUBREL for, and never keeps an id the broker has released.
//! * **The application is done with a received message**: the client marks message `n - 1`
//!   done when the application takes message `n` (and the last one when the client is
//!   closed). The mark is written to the file at once (with the batch built so far) and
//!   `fdatasync`ed with the next batch: a killed process hands out again only the message it
//!   was working on; after a power cut, a few more may come again.
//! * **Compaction**: when the log is longer than [`FileStoreOptions::compact_at`] and four
//!   times the live state, the live state is written to `session.log.tmp`, `fsync`ed, renamed
//!   over the log, and the directory `fsync`ed.
//!
//! # What a crash costs
//!
//! * **The process is killed** (SIGKILL, panic, OOM): nothing. Every write reaches the
//!   operating system before the client acts on it. A batch cut short by the kill is cut
//!   off on reopen; nothing in it had been sent or acknowledged.
//! * **The machine loses power**: the batch since the last `fsync`, which the client had not
//!   acted on yet: received messages that were not acknowledged (the broker sends them again),
//!   acknowledgements that were not passed on. The one exception: with
//!   `sync_on_publish` off (the default), publishes accepted by `publish` but not yet sent
//!   when the power went are lost (the application was told "accepted", not "sent"); turn it
//!   on to pay one `fsync` per publish instead.
//! * **A damaged log**: what follows the synced point (the slot, or a later batch header's
//!   mark) is what a crash can leave half written: a torn last batch, zeroed blocks, or a
//!   hole followed by later batches (a power cut that wrote later blocks first). Reopening
//!   cuts the log back to the last whole batch before such damage and keeps everything that
//!   had been synced. Damage *before* the synced point, a record that contradicts the ones
//!   before it, or a log shorter than what had been synced is [`StoreError::Corrupt`] with
//!   the offset: the store never guesses. A header cut short (a crash while the log was
//!   being created) is written again.
//! * **A failed write or sync** (a full disk, an IO error): [`StoreError::Io`] with the
//!   operating system's error kind and text. The publish that met it fails with
//!   [`Error::Store`](crate::Error::Store); the IO thread, which syncs before every socket
//!   write, ends the connection with [`DisconnectReason::Store`](crate::DisconnectReason::Store)
//!   and sends nothing the store did not record. The next write rewrites the log from the
//!   state in memory (a failed `fsync` is not trusted again: the kernel may have dropped the
//!   data), so the store, and the client, work again once the disk does. A publish that
//!   failed may still be in the log if the process dies before that rewrite.
//!
//! # MQTT 5.0 properties and message expiry
//!
//! A QoS 1/2 message published with PUBLISH properties (mqtt-session's
//! [`Session::publish_with`](mqtt_session::Session::publish_with)) is recorded with them (a
//! record of its own kind; a message without properties is written as before), so that its
//! resend after a restart carries them again. Reopening checks them as a PUBLISH property list
//! with no Topic Alias and no Subscription Identifier: a list that is not is a damaged record
//! like any other ([`StoreError::Corrupt`] where it had been synced, cut with the torn tail
//! where it had not).
//!
//! A message with a Message Expiry Interval expires at a deadline on the session's clock
//! ([`Outgoing::expires`](mqtt_session::Outgoing::expires)), and that clock starts again with
//! each process. So the store keeps the deadline in wall-clock time: it takes the session's
//! clock to start when the store is opened (both clients start theirs just before they open
//! it; a session driven by hand should start its clock, for instance mqtt-session's
//! `StdClock::new()`, right before [`FileStore::open`]) and after a restart hands the deadline back as what is left of it
//! counted from the new opening, or as already passed ([`Instant::ZERO`](mqtt_session::Instant))
//! if it passed while the process was down. The session then resends such a message with an
//! interval of 0 when the broker resumes the session (it cannot tell whether the PUBLISH had
//! gone out, so it takes it as sent [MQTT-4.4.0-1, MQTT-4.3.3-7]), and reports it as
//! expired ([`Error::PublishExpired`](crate::Error::PublishExpired), or
//! `Event::PublishExpired` for a session driven by hand) when the broker lost the session.
//!
//! The limits of that: the wall clock is trusted. A step of the system clock while the
//! process runs or while it is down (NTP correcting a clock that was wrong at boot, a manual
//! change) moves the deadline by the step, longer for a clock set back and shorter for one
//! set forward; a clock set before 1970 counts as 1970. The moment the session's clock
//! starts and the moment the store reads the wall clock as it opens are a few microseconds
//! apart (more if the store had to wait for its lock), and a deadline is that much off either
//! way. The time left is counted in milliseconds on disk and goes out rounded up to whole
//! seconds, so a resend may credit up to a second that had passed.
//!
//! # Received messages: at least once, and exactly once for an application that dedups by
//! number
//!
//! The client records a received QoS 1/2 message with a number ([`Message::seq`](crate::Message::seq))
//! in the same batch as its QoS 2 packet id, before the PUBACK/PUBREC goes out (MQTT 3.1.1
//! method B for QoS 2: the message is delivered on PUBLISH, its id stored, then PUBREC; a
//! PUBLISH with a stored id is answered and not delivered again). After a restart, the
//! messages the application had not finished with are handed out again first, with their
//! numbers. So:
//!
//! * QoS 1 and QoS 2 messages reach the application at least once across crashes.
//! * A QoS 2 message is never *received* twice: a number is never given to a broker's resend.
//!   An application that records the number with its own result (in one write) and skips
//!   numbers it already has gets every QoS 2 message exactly once, even if it is killed
//!   between handling a message and taking the next. An application that does not (for
//!   example `mqttc sub` printing to stdout) may see the message it was handling when it died
//!   a second time.

mod crc;
mod file;
mod record;
mod vfs;

use std::fmt;
use std::io;
use std::path::PathBuf;

use mqtt_proto::PacketId;
use mqtt_session::{Outgoing, OutgoingInfo, Store, StoreError as SessionStoreError, VecStore};

pub use file::{FileStore, FileStoreOptions, LOG_FILE, ReceivedMessage};

/// Why a [`FileStore`] could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process (or another client in this one) has the store open.
    Locked {
        /// The store directory.
        path: PathBuf,
    },
    /// The log is damaged somewhere other than its very end, or is not a session log.
    Corrupt {
        /// The log file.
        path: PathBuf,
        /// Byte offset of the damage.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A file operation failed.
    Io {
        /// What was being done.
        what: &'static str,
        /// The store directory.
        path: PathBuf,
        /// The error's kind.
        kind: io::ErrorKind,
        /// The error's text.
        message: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Locked { path } => write!(
                f,
                "session store {} is in use by another process",
                path.display()
            ),
            StoreError::Corrupt {
                path,
                offset,
                reason,
            } => write!(
                f,
                "session store {} is damaged at byte {offset}: {reason}",
                path.display()
            ),
            StoreError::Io {
                what,
                path,
                message,
                ..
            } => write!(f, "session store {}: {what}: {message}", path.display()),
        }
    }
}

impl std::error::Error for StoreError {}

/// The received messages a reopened store hands out again, as the client queues them.
pub(crate) fn restored_messages(f: &FileStore) -> Vec<crate::Message> {
    f.pending_received()
        .into_iter()
        .map(|m| crate::Message {
            topic: m.topic,
            payload: m.payload,
            qos: m.qos,
            retain: m.retain,
            dup: m.dup,
            packet_id: None,
            seq: Some(m.seq),
            properties: crate::v5::PublishProperties::default(),
        })
        .collect()
}

/// The client's store: in memory, or a [`FileStore`].
#[derive(Debug)]
pub(crate) enum SessionStore {
    Memory(VecStore),
    File(Box<FileStore>),
}

impl SessionStore {
    pub(crate) fn file(&self) -> Option<&FileStore> {
        match self {
            SessionStore::Memory(_) => None,
            SessionStore::File(f) => Some(f),
        }
    }

    /// The error for a command the session refused: with a durable store that failed, what
    /// failed (the OS error), else the session's refusal.
    pub(crate) fn command_error(&self, e: mqtt_session::CommandError) -> crate::Error {
        match (e, self.file().and_then(FileStore::failure)) {
            (mqtt_session::CommandError::StoreFailed, Some(failure)) => {
                crate::Error::Store(failure)
            }
            (e, _) => e.into(),
        }
    }

    /// Releases a durable store now (it syncs and unlocks as it closes), so that a new client
    /// can open it while handles of a closed one live on: the session is replaced by an empty
    /// one in memory.
    pub(crate) fn release(session: &mut mqtt_session::Session<SessionStore, Vec<u8>>) {
        if session.store().file().is_some() {
            let config = *session.config();
            let memory = SessionStore::Memory(VecStore::new());
            drop(std::mem::replace(
                session,
                mqtt_session::Session::new(config, memory, Vec::new(), Vec::new()),
            ));
        }
    }

    /// A received message, with a durable store recorded (in the batch written before the
    /// PUBACK or PUBREC goes out) and numbered.
    pub(crate) fn record(&self, mut message: crate::Message) -> crate::Message {
        message.seq = self.file().and_then(|f| {
            f.record_received(
                message.qos,
                message.retain,
                message.dup,
                &message.topic,
                &message.payload,
            )
        });
        message
    }
}

macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            SessionStore::Memory($s) => $e,
            SessionStore::File($s) => $e,
        }
    };
}

impl Store for SessionStore {
    fn outgoing_len(&self) -> usize {
        each!(self, s => s.outgoing_len())
    }
    fn outgoing(&self, index: usize) -> Option<Outgoing<'_>> {
        each!(self, s => s.outgoing(index))
    }
    fn outgoing_info(&self, index: usize) -> Option<OutgoingInfo> {
        each!(self, s => s.outgoing_info(index))
    }
    fn outgoing_position(&self, packet_id: PacketId) -> Option<usize> {
        each!(self, s => s.outgoing_position(packet_id))
    }
    fn push_outgoing(&mut self, message: &Outgoing<'_>) -> Result<(), SessionStoreError> {
        each!(self, s => s.push_outgoing(message))
    }
    fn release_outgoing(&mut self, packet_id: PacketId) -> bool {
        each!(self, s => s.release_outgoing(packet_id))
    }
    fn remove_outgoing(&mut self, packet_id: PacketId) -> bool {
        each!(self, s => s.remove_outgoing(packet_id))
    }
    fn renumber_outgoing(&mut self, old: PacketId, new: PacketId) -> bool {
        each!(self, s => s.renumber_outgoing(old, new))
    }
    fn contains_incoming(&self, packet_id: PacketId) -> bool {
        each!(self, s => s.contains_incoming(packet_id))
    }
    fn insert_incoming(&mut self, packet_id: PacketId) -> Result<(), SessionStoreError> {
        each!(self, s => s.insert_incoming(packet_id))
    }
    fn remove_incoming(&mut self, packet_id: PacketId) -> bool {
        each!(self, s => s.remove_incoming(packet_id))
    }
    fn clear_incoming(&mut self) {
        each!(self, s => s.clear_incoming())
    }
}

#[cfg(test)]
mod power_cut;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_v5;
