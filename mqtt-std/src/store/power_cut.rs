//! The store over a disk that loses power: seeded runs of publishes, acks, received messages
//! and compactions, cut at a random operation (and, for one run, at every operation), the
//! disk then left as a power cut leaves it. Every reopen must succeed and find a state the
//! store had written at or after its last sync: nothing it had confirmed lost, no QoS 2
//! flow done twice.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use mqtt_proto::{PacketId, QoS};
use mqtt_session::{Outgoing, OutgoingState, Store};

use super::sim::{CutStats, Rng, SimFs};
use super::tests::{Snapshot, snapshot};
use super::{FileStore, FileStoreOptions, LOG_FILE, StoreError};

fn dir() -> PathBuf {
    PathBuf::from("/store")
}

/// A store over the simulated disk, and the states it has written.
struct Run {
    store: FileStore,
    /// The state after every write that succeeded, since the store was opened.
    written: Vec<Snapshot>,
    /// Index in `written` of the state at the last successful sync.
    synced: usize,
    tag: u32,
}

impl Run {
    fn open(fs: &SimFs, options: FileStoreOptions) -> Result<Run, StoreError> {
        let store = FileStore::open_in(Box::new(fs.clone()), &dir(), options)?;
        let s = snapshot(&store);
        Ok(Run {
            store,
            written: vec![s],
            synced: 0,
            tag: 0,
        })
    }

    fn wrote(&mut self, synced: bool) {
        self.written.push(snapshot(&self.store));
        if synced {
            self.synced = self.written.len() - 1;
        }
    }

    fn free_id(&self, rng: &mut Rng) -> Option<PacketId> {
        for _ in 0..8 {
            let id = PacketId::new(1 + rng.below(40) as u16).unwrap();
            if self.store.outgoing_position(id).is_none() {
                return Some(id);
            }
        }
        None
    }

    fn some_outgoing(&self, rng: &mut Rng) -> Option<(PacketId, QoS, OutgoingState)> {
        let n = self.store.outgoing_len();
        if n == 0 {
            return None;
        }
        let m = self.store.outgoing(rng.below(n as u64) as usize)?;
        Some((m.packet_id, m.qos, m.state))
    }

    /// One random operation; `false` once the disk is gone.
    fn step(&mut self, rng: &mut Rng, options: FileStoreOptions) -> bool {
        match rng.below(16) {
            0..=3 => {
                let Some(packet_id) = self.free_id(rng) else {
                    return true;
                };
                self.tag += 1;
                let mut payload = self.tag.to_le_bytes().to_vec();
                let extra = if rng.chance(8) {
                    2000 + rng.below(3000)
                } else {
                    rng.below(200)
                };
                payload.resize(payload.len() + extra as usize, self.tag as u8);
                let qos = if rng.chance(2) {
                    QoS::AtLeastOnce
                } else {
                    QoS::ExactlyOnce
                };
                // A third with 5.0 properties (Content Type, a User Property with the tag),
                // chosen by the tag so that the runs draw the same numbers as without them.
                let mut properties = Vec::new();
                if self.tag % 3 == 0 {
                    let tag = self.tag.to_string();
                    properties.extend_from_slice(b"\x03\x00\x04json\x26\x00\x03tag\x00");
                    properties.push(tag.len() as u8);
                    properties.extend_from_slice(tag.as_bytes());
                }
                let m = Outgoing {
                    packet_id,
                    qos,
                    retain: rng.chance(4),
                    state: OutgoingState::Publish,
                    topic: "sensors/7",
                    payload: &payload,
                    properties: &properties,
                    expires: None,
                };
                if self.store.push_outgoing(&m).is_err() {
                    // The power went during the write: its batch may have landed whole.
                    let mut c = snapshot(&self.store);
                    c.outgoing.push((
                        packet_id.0.get(),
                        qos,
                        m.retain,
                        OutgoingState::Publish,
                        m.topic.to_owned(),
                        payload.clone(),
                        properties.clone(),
                    ));
                    c.accepted += 1;
                    self.written.push(c);
                    return false;
                }
                self.wrote(options.sync_on_publish);
            }
            4 | 5 => {
                // PUBREC for a QoS 2 message, PUBACK/PUBCOMP for any.
                if let Some((id, qos, state)) = self.some_outgoing(rng) {
                    if qos == QoS::ExactlyOnce && state == OutgoingState::Publish {
                        self.store.release_outgoing(id);
                    } else {
                        self.store.remove_outgoing(id);
                    }
                }
            }
            6 => {
                // The session ended: published again under a new id.
                if let (Some((old, ..)), Some(new)) = (self.some_outgoing(rng), self.free_id(rng)) {
                    self.store.renumber_outgoing(old, new);
                }
            }
            7 => {
                let id = PacketId::new(1 + rng.below(20) as u16).unwrap();
                if self.store.contains_incoming(id) {
                    self.store.remove_incoming(id);
                } else {
                    self.store.insert_incoming(id).unwrap();
                }
            }
            8 | 9 => {
                self.tag += 1;
                let qos = if rng.chance(2) {
                    QoS::AtLeastOnce
                } else {
                    QoS::ExactlyOnce
                };
                let mut payload = self.tag.to_le_bytes().to_vec();
                payload.resize(4 + rng.below(300) as usize, 1);
                self.store
                    .record_received(qos, false, rng.chance(8), "in/x", &payload);
            }
            10 => {
                if let Some(m) = self.store.pending_received().first() {
                    self.store.taken(m.seq);
                    if self.store.failure().is_some() {
                        self.wrote(false);
                        return false;
                    }
                    self.wrote(false);
                }
            }
            11 => {
                if rng.chance(4) {
                    if self.store.compact_now().is_err() {
                        self.wrote(false);
                        return false;
                    }
                    // Compaction syncs what it writes.
                    self.wrote(true);
                }
            }
            _ => {
                if self.store.sync().is_err() {
                    // Its batch may have landed whole, unsynced.
                    self.wrote(false);
                    return false;
                }
                self.wrote(true);
            }
        }
        true
    }
}

/// What one power cut did to the store.
#[derive(Debug, Default)]
struct Outcome {
    lost: u64,
    duplicated: u64,
    in_compaction: bool,
    cut: CutStats,
}

/// Messages of `synced` still in `latest` (never completed) but missing from `after`, and
/// QoS 2 flows `synced` had moved on that `after` would do again.
fn compare(since_sync: &[Snapshot], after: &Snapshot) -> (u64, u64) {
    let (Some(synced), Some(latest)) = (since_sync.first(), since_sync.last()) else {
        return (0, 0);
    };
    // A message is known by the tag its payload starts with; a released one (its payload
    // no longer kept) by its packet id.
    type Out = super::tests::Held;
    let key = |m: &Out| match m.5.get(..4) {
        Some(t) => (0, u32::from_le_bytes([t[0], t[1], t[2], t[3]])),
        None => (1, u32::from(m.0)),
    };
    let mut lost = 0;
    let mut dup = 0;
    for m in &synced.outgoing {
        let still = latest.outgoing.iter().any(|l| key(l) == key(m));
        let back = after.outgoing.iter().find(|a| key(a) == key(m));
        if still && back.is_none() && m.3 == OutgoingState::Publish {
            lost += 1;
        }
    }
    // Released (PUBREC in) when synced, but to be PUBLISHed again: the broker would get it
    // twice.
    for a in &after.outgoing {
        let was_released = synced
            .outgoing
            .iter()
            .any(|m| m.3 == OutgoingState::Released && m.0 == a.0 && m.1 == QoS::ExactlyOnce);
        // Unless the id was used again by a message published after the sync.
        let new_message = since_sync.iter().any(|s| {
            s.outgoing
                .iter()
                .any(|m| m.3 == OutgoingState::Publish && key(m) == key(a))
        });
        if a.3 == OutgoingState::Publish && was_released && !new_message {
            dup += 1;
        }
    }
    for r in &synced.received {
        if latest.received.contains(r) && !after.received.contains(r) {
            lost += 1;
        }
    }
    // An incoming QoS 2 id forgotten: the broker's resend would be delivered again.
    for id in &synced.incoming {
        if latest.incoming.contains(id) && !after.incoming.contains(id) {
            dup += 1;
        }
    }
    if after.last_received < synced.last_received {
        dup += 1;
    }
    (lost, dup)
}

/// Runs the workload of `seed`, cutting the power at operation `cut` (or a random one), and
/// checks the reopened store.
fn one(seed: u64, cut: Option<u64>) -> Result<Outcome, String> {
    let mut rng = Rng(seed);
    let options = FileStoreOptions {
        compact_at: 2048 + rng.below(8192),
        sync_on_publish: rng.chance(3),
    };
    let steps = 40 + rng.below(120);
    // A dry run counts the operations, so that the cut falls inside the workload.
    let total = {
        let fs = SimFs::default();
        let mut run = Run::open(&fs, options).map_err(|e| e.to_string())?;
        let mut r = rng.clone();
        for _ in 0..steps {
            run.step(&mut r, options);
        }
        fs.ops()
    };
    let cut = cut.unwrap_or_else(|| rng.below(total + 1));
    let fs = SimFs::default();
    fs.cut_at(cut);
    let mut run = match Run::open(&fs, options) {
        Ok(run) => Some(run),
        Err(_) if fs.is_dead() => None,
        Err(e) => return Err(format!("first open: {e}")),
    };
    if let Some(run) = run.as_mut() {
        let mut r = rng.clone();
        for _ in 0..steps {
            if !run.step(&mut r, options) {
                break;
            }
        }
    }
    let (disk, stats) = fs.after_power_cut(&mut rng);
    let mut outcome = Outcome {
        in_compaction: fs.cut_in_compaction(),
        cut: stats,
        ..Outcome::default()
    };
    let reopened = FileStore::open_in(Box::new(disk.clone()), &dir(), options)
        .map_err(|e| format!("reopen after the cut at {cut}: {e}"))?;
    let after = snapshot(&reopened);
    if let Some(run) = &run {
        let (lost, dup) = compare(&run.written[run.synced..], &after);
        outcome.lost = lost;
        outcome.duplicated = dup;
        if !run.written[run.synced..].contains(&after) {
            let short = |s: &Snapshot| {
                format!(
                    "out {:?} in {:?} rx {:?} acc {} last {}",
                    s.outgoing
                        .iter()
                        .map(|m| (m.0, m.3, m.5.get(..4).map(<[u8]>::to_vec)))
                        .collect::<Vec<_>>(),
                    s.incoming,
                    s.received.iter().map(|r| r.0).collect::<Vec<_>>(),
                    s.accepted,
                    s.last_received
                )
            };
            let states: Vec<String> = run.written[run.synced..].iter().map(short).collect();
            return Err(format!(
                "cut at {cut}: the reopened state is none the store wrote since its last sync \
                 ({lost} lost, {dup} duplicated)\nreopened: {}\nwritten since the sync:\n{}",
                short(&after),
                states.join("\n")
            ));
        }
    } else if after.outgoing_len_is_zero() {
        // The power went before the first open finished: an empty store.
    } else {
        return Err(format!("cut at {cut} during the first open: not empty"));
    }
    // The recovered store goes on working: more changes, a sync, a kill, a reopen.
    let mut again = Run {
        store: reopened,
        written: vec![after],
        synced: 0,
        tag: 1_000_000,
    };
    for _ in 0..20 {
        again.step(&mut rng, options);
    }
    again
        .store
        .sync()
        .map_err(|e| format!("sync after recovery: {e}"))?;
    let expected = snapshot(&again.store);
    let killed = disk.after_kill();
    drop(again);
    let last = FileStore::open_in(Box::new(killed), &dir(), options)
        .map_err(|e| format!("second reopen: {e}"))?;
    if snapshot(&last) != expected {
        return Err(format!(
            "cut at {cut}: the recovered store lost what it synced"
        ));
    }
    Ok(outcome)
}

impl Snapshot {
    fn outgoing_len_is_zero(&self) -> bool {
        self.outgoing.is_empty() && self.incoming.is_empty() && self.received.is_empty()
    }
}

#[test]
fn power_cuts_at_random_points_of_1000_seeded_runs() {
    const SEEDS: u64 = 1000;
    let mut lost = 0;
    let mut dup = 0;
    let mut in_compaction = 0;
    let mut cut = CutStats::default();
    let mut failures = Vec::new();
    for seed in 0..SEEDS {
        match one(seed, None) {
            Ok(o) => {
                lost += o.lost;
                dup += o.duplicated;
                in_compaction += u64::from(o.in_compaction);
                cut.dropped += o.cut.dropped;
                cut.reordered += o.cut.reordered;
                cut.torn += o.cut.torn;
                cut.dir_lost += o.cut.dir_lost;
            }
            Err(e) => failures.push(format!("seed {seed}: {e}")),
        }
    }
    println!(
        "power cuts: {SEEDS} seeded runs, {} reopened; confirmed messages lost: {lost}; QoS 2 \
         duplicates: {dup}; cuts inside a compaction: {in_compaction}; unsynced writes \
         dropped {}, reordered {}, torn {}; directory changes lost {}",
        SEEDS - failures.len() as u64,
        cut.dropped,
        cut.reordered,
        cut.torn,
        cut.dir_lost
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!((lost, dup), (0, 0));
    // The runs did reach the cases they are about.
    assert!(in_compaction > 0 && cut.reordered > 0 && cut.torn > 0 && cut.dir_lost > 0);
}

#[test]
fn a_power_cut_at_every_operation_of_one_run() {
    let seed = 7;
    let total = {
        let fs = SimFs::default();
        let options = FileStoreOptions {
            compact_at: 2048,
            sync_on_publish: false,
        };
        let mut run = Run::open(&fs, options).unwrap();
        let mut r = Rng(seed);
        for _ in 0..150 {
            run.step(&mut r, options);
        }
        fs.ops()
    };
    let mut in_compaction = 0;
    for cut in 0..=total {
        for variant in 0..3 {
            let o = one(seed * 1000 + variant, Some(cut)).unwrap();
            in_compaction += u64::from(o.in_compaction);
            assert_eq!((o.lost, o.duplicated), (0, 0), "cut at {cut}");
        }
    }
    assert!(in_compaction > 0);
}

#[test]
fn a_full_disk_is_a_typed_error_and_the_store_works_again_once_there_is_room() {
    let fs = SimFs::default();
    let options = FileStoreOptions::default();
    let mut s = FileStore::open_in(Box::new(fs.clone()), &dir(), options).unwrap();
    let msg = |id: u16, payload: &'static [u8]| Outgoing {
        packet_id: PacketId::new(id).unwrap(),
        qos: QoS::AtLeastOnce,
        retain: false,
        state: OutgoingState::Publish,
        topic: "t",
        payload,
        properties: &[],
        expires: None,
    };
    s.push_outgoing(&msg(1, b"before")).unwrap();
    s.sync().unwrap();
    fs.set_space(Some(40));
    // The write lands in part, then the disk is full.
    assert!(s.push_outgoing(&msg(2, &[9; 100])).is_err());
    match s.failure() {
        Some(StoreError::Io { kind, what, .. }) => {
            assert_eq!(kind, std::io::ErrorKind::StorageFull);
            assert_eq!(what, "write log");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        s.failure().unwrap().to_string().contains("write log"),
        "{:?}",
        s.failure()
    );
    // Changes of the IO thread are kept in memory; their sync fails while the disk is full.
    assert!(s.remove_outgoing(PacketId::new(1).unwrap()));
    s.insert_incoming(PacketId::new(5).unwrap()).unwrap();
    assert!(s.sync().is_err());
    assert!(s.push_outgoing(&msg(3, b"still full")).is_err());
    // Room again: the next write rewrites the log and goes on.
    fs.set_space(None);
    s.push_outgoing(&msg(4, b"after")).unwrap();
    s.sync().unwrap();
    assert!(s.failure().is_none());
    let expected = snapshot(&s);
    assert_eq!(
        expected.outgoing.iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![4]
    );
    assert_eq!(expected.incoming, vec![5]);
    drop(s);
    // What was recovered is on disk for sure (a power cut keeps it).
    let (disk, _) = fs.after_power_cut(&mut Rng(1));
    let back = FileStore::open_in(Box::new(disk), &dir(), options).unwrap();
    assert_eq!(snapshot(&back), expected);
}

#[test]
fn a_failed_fsync_is_not_trusted_the_log_is_rewritten() {
    let fs = SimFs::default();
    let options = FileStoreOptions::default();
    let mut s = FileStore::open_in(Box::new(fs.clone()), &dir(), options).unwrap();
    let m = Outgoing {
        packet_id: PacketId::new(1).unwrap(),
        qos: QoS::ExactlyOnce,
        retain: false,
        state: OutgoingState::Publish,
        topic: "t",
        payload: b"x",
        properties: &[],
        expires: None,
    };
    s.push_outgoing(&m).unwrap();
    fs.fail_next_sync();
    let err = s.sync().unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Io {
                what: "sync log",
                ..
            }
        ),
        "{err}"
    );
    // The kernel forgot the dirty pages: syncing the same file again would "succeed"
    // without them. The store rewrites the log instead.
    s.sync().unwrap();
    let expected = snapshot(&s);
    drop(s);
    let (disk, _) = fs.after_power_cut(&mut Rng(3));
    let back = FileStore::open_in(Box::new(disk), &dir(), options).unwrap();
    assert_eq!(snapshot(&back), expected);
    assert_eq!(back.outgoing_len(), 1);
}

#[test]
fn a_header_cut_short_is_written_again_and_later_messages_survive() {
    for cut in 0..super::record::FILE_HEADER {
        let fs = SimFs::default();
        let options = FileStoreOptions::default();
        drop(FileStore::open_in(Box::new(fs.clone()), &dir(), options).unwrap());
        let log = fs.read(&dir().join(LOG_FILE)).unwrap();
        fs.write(&dir().join(LOG_FILE), &log[..cut]);
        let mut s = FileStore::open_in(Box::new(fs.clone()), &dir(), options).unwrap();
        assert_eq!(s.outgoing_len(), 0);
        s.push_outgoing(&Outgoing {
            packet_id: PacketId::new(3).unwrap(),
            qos: QoS::AtLeastOnce,
            retain: false,
            state: OutgoingState::Publish,
            topic: "t",
            payload: b"kept",
            properties: &[],
            expires: None,
        })
        .unwrap();
        s.sync().unwrap();
        drop(s);
        let s = FileStore::open_in(Box::new(fs.after_kill()), &dir(), options).unwrap();
        assert_eq!(s.outgoing(0).unwrap().payload, b"kept", "cut {cut}");
    }
}

/// A payload that holds a whole valid batch (with a valid header and CRC) is only data.
#[test]
fn a_payload_holding_a_forged_batch_is_never_read_as_one() {
    use super::record::{Record, batch};
    let fs = SimFs::default();
    let options = FileStoreOptions::default();
    let mut s = FileStore::open_in(Box::new(fs.clone()), &dir(), options).unwrap();
    s.sync().unwrap();
    let at = fs.read(&dir().join(LOG_FILE)).unwrap().len() as u64;
    // A forged batch that would remove message 1 and claim everything was synced.
    let forged = batch(at + 64, &[Record::Remove { packet_id: 1 }]);
    let mut payload = b"hello ".to_vec();
    payload.extend_from_slice(&forged);
    payload.extend_from_slice(&forged);
    for id in 1..=2 {
        s.push_outgoing(&Outgoing {
            packet_id: PacketId::new(id).unwrap(),
            qos: QoS::AtLeastOnce,
            retain: false,
            state: OutgoingState::Publish,
            topic: "t",
            payload: &payload,
            properties: &[],
            expires: None,
        })
        .unwrap();
    }
    s.sync().unwrap();
    let expected = snapshot(&s);
    // A torn tail after it: the last batch (message 2) cut at every byte.
    let whole = fs.read(&dir().join(LOG_FILE)).unwrap();
    drop(s);
    let first_end = whole.len() - (whole.len() - at as usize) / 2;
    for cut in first_end..whole.len() {
        let mut torn = whole[..cut].to_vec();
        // The process died before the sync: the slot says only the first batch.
        torn[8..24].copy_from_slice(&super::record::slot(first_end as u64));
        fs.write(&dir().join(LOG_FILE), &torn);
        let s = FileStore::open_in(Box::new(fs.clone()), &dir(), options).unwrap();
        assert_eq!(s.outgoing_len(), 1, "cut {cut}");
        assert_eq!(s.outgoing(0).unwrap().payload, &payload[..]);
    }
    fs.write(&dir().join(LOG_FILE), &whole);
    let s = FileStore::open_in(Box::new(fs.clone()), &dir(), options).unwrap();
    assert_eq!(snapshot(&s), expected);
}
