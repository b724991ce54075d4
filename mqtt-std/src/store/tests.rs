//! The log format: reopen, torn writes at every offset, compaction, garbage, the lock, and a
//! session resumed over a reopened store.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::PathBuf;

use mqtt_proto::{PacketId, QoS};
use mqtt_session::{Config, ConnectOptions, Instant, Outgoing, OutgoingState, Session, Store};

use super::record::{BATCH_HEADER, FILE_HEADER, Record, SLOT_AT, batch, file_header, slot};
use super::{FileStore, FileStoreOptions, LOG_FILE, StoreError};

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mqtt-std-store-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn id(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

fn push(s: &mut FileStore, n: u16, qos: QoS, payload: &[u8]) {
    s.push_outgoing(&Outgoing {
        packet_id: id(n),
        qos,
        retain: n % 2 == 0,
        state: OutgoingState::Publish,
        topic: "t/x",
        payload,
        properties: &[],
        expires: None,
    })
    .unwrap();
}

/// An outgoing message as a snapshot has it.
pub(super) type Held = (u16, QoS, bool, OutgoingState, String, Vec<u8>, Vec<u8>);

/// Everything a store holds, for comparisons.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Snapshot {
    /// Id, QoS, retain, state, topic, payload, 5.0 properties.
    pub(super) outgoing: Vec<Held>,
    pub(super) incoming: Vec<u16>,
    pub(super) received: Vec<(u64, Vec<u8>)>,
    pub(super) accepted: u64,
    pub(super) last_received: u64,
}

pub(super) fn snapshot(s: &FileStore) -> Snapshot {
    Snapshot {
        outgoing: (0..s.outgoing_len())
            .map(|i| {
                let m = s.outgoing(i).unwrap();
                (
                    m.packet_id.0.get(),
                    m.qos,
                    m.retain,
                    m.state,
                    m.topic.to_owned(),
                    m.payload.to_vec(),
                    m.properties.to_vec(),
                )
            })
            .collect(),
        incoming: s.incoming_ids().map(|id| id.0.get()).collect(),
        received: s
            .pending_received()
            .into_iter()
            .map(|m| (m.seq, m.payload))
            .collect(),
        accepted: s.accepted_publishes(),
        last_received: s.last_received(),
    }
}

/// A store with a bit of everything, synced.
fn populate(s: &mut FileStore) {
    push(s, 1, QoS::AtLeastOnce, b"one");
    push(s, 2, QoS::ExactlyOnce, b"two");
    push(s, 3, QoS::ExactlyOnce, b"three");
    push(s, 4, QoS::AtLeastOnce, b"four");
    assert!(s.release_outgoing(id(2)));
    assert!(s.remove_outgoing(id(1)));
    // Its session ended: message 3 goes out again as 8.
    assert!(s.renumber_outgoing(id(3), id(8)));
    assert!(!s.renumber_outgoing(id(3), id(10)));
    s.insert_incoming(id(7)).unwrap();
    s.insert_incoming(id(9)).unwrap();
    assert!(s.remove_incoming(id(7)));
    assert_eq!(
        s.record_received(QoS::AtLeastOnce, false, false, "in", b"r1"),
        Some(1)
    );
    assert_eq!(
        s.record_received(QoS::ExactlyOnce, true, true, "in", b"r2"),
        Some(2)
    );
    assert_eq!(
        s.record_received(QoS::AtMostOnce, false, false, "in", b"q0"),
        None
    );
    s.taken(2);
    s.sync().unwrap();
}

#[test]
fn reopen_restores_everything_in_order() {
    let d = dir("reopen");
    let before = {
        let mut s = FileStore::open(&d).unwrap();
        populate(&mut s);
        snapshot(&s)
    };
    assert_eq!(
        before
            .outgoing
            .iter()
            .map(|m| (m.0, m.3))
            .collect::<Vec<_>>(),
        vec![
            (2, OutgoingState::Released),
            (8, OutgoingState::Publish),
            (4, OutgoingState::Publish)
        ]
    );
    assert_eq!(before.incoming, vec![9]);
    // Taking message 2 finished message 1.
    assert_eq!(before.received, vec![(2, b"r2".to_vec())]);
    assert_eq!((before.accepted, before.last_received), (4, 2));
    let s = FileStore::open(&d).unwrap();
    assert_eq!(snapshot(&s), before);
    drop(s);
    // Finishing the taken message is kept too.
    let s = FileStore::open(&d).unwrap();
    // Nothing taken yet in this process: nothing finished.
    s.finish_taken();
    s.sync().unwrap();
    assert_eq!(s.pending_received().len(), 1);
    s.taken(2);
    s.finish_taken();
    s.sync().unwrap();
    drop(s);
    let s = FileStore::open(&d).unwrap();
    assert!(s.pending_received().is_empty());
    assert_eq!(s.last_received(), 2);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn unsynced_changes_of_the_io_thread_are_written_by_drop_or_sync_only() {
    let d = dir("unsynced");
    let mut s = FileStore::open(&d).unwrap();
    push(&mut s, 5, QoS::AtLeastOnce, b"x");
    let len = s.log_len();
    // A removal waits in the batch until the next sync.
    assert!(s.remove_outgoing(id(5)));
    assert_eq!(s.log_len(), len);
    s.sync().unwrap();
    assert!(s.log_len() > len);
    drop(s);
    assert_eq!(FileStore::open(&d).unwrap().outgoing_len(), 0);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn torn_last_batch_at_every_byte_offset_recovers_the_previous_state() {
    let d = dir("torn");
    let (before, full, after) = {
        let mut s = FileStore::open(&d).unwrap();
        populate(&mut s);
        let before = snapshot(&s);
        let len = s.log_len() as usize;
        // The last batch: one publish, written and not synced (the process dies before its
        // sync: the file header's slot still says `len`).
        push(&mut s, 10, QoS::ExactlyOnce, b"the last one");
        (before, len, snapshot(&s))
    };
    let mut whole = fs::read(d.join(LOG_FILE)).unwrap();
    whole[SLOT_AT as usize..FILE_HEADER].copy_from_slice(&slot(full as u64));
    assert!(whole.len() > full);
    for cut in full..=whole.len() {
        fs::write(d.join(LOG_FILE), &whole[..cut]).unwrap();
        let mut s = FileStore::open(&d).unwrap();
        let expected = if cut == whole.len() { &after } else { &before };
        assert_eq!(&snapshot(&s), expected, "cut at {cut} of {}", whole.len());
        // The torn tail is gone: new batches follow whole ones and survive a reopen.
        if cut < whole.len() {
            assert_eq!(fs::metadata(d.join(LOG_FILE)).unwrap().len(), full as u64);
        }
        push(&mut s, 11, QoS::AtLeastOnce, b"after");
        drop(s);
        let s = FileStore::open(&d).unwrap();
        assert_eq!(s.outgoing(s.outgoing_len() - 1).unwrap().payload, b"after");
    }
    // A header cut short is an empty store, not an error.
    for cut in 0..FILE_HEADER {
        fs::write(d.join(LOG_FILE), &whole[..cut]).unwrap();
        assert_eq!(FileStore::open(&d).unwrap().outgoing_len(), 0);
    }
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_batch_whose_body_missed_the_disk_is_cut_with_what_follows() {
    let d = dir("nobody");
    let before = {
        let mut s = FileStore::open(&d).unwrap();
        populate(&mut s);
        snapshot(&s)
    };
    let log = fs::read(d.join(LOG_FILE)).unwrap();
    let synced = log.len() as u64;
    // Unsynced batches after the last sync: the first one's body is zeros (its blocks never
    // reached the disk), the next one whole (a power cut wrote later blocks first).
    let mut b1 = batch(synced, &[Record::Remove { packet_id: 4 }]);
    for x in &mut b1[BATCH_HEADER..] {
        *x = 0;
    }
    let b2 = batch(synced, &[Record::InInsert { packet_id: 44 }]);
    let mut torn = log.clone();
    torn.extend_from_slice(&b1);
    torn.extend_from_slice(&b2);
    fs::write(d.join(LOG_FILE), &torn).unwrap();
    assert_eq!(snapshot(&FileStore::open(&d).unwrap()), before);
    assert_eq!(fs::metadata(d.join(LOG_FILE)).unwrap().len(), synced);

    // Whole records with no batch header in front: not a batch, cut.
    let mut loose = log.clone();
    let mut rec = Vec::new();
    Record::Remove { packet_id: 4 }.encode(&mut rec);
    loose.extend_from_slice(&rec);
    fs::write(d.join(LOG_FILE), &loose).unwrap();
    assert_eq!(snapshot(&FileStore::open(&d).unwrap()), before);

    // The same damage where a later header says it had been synced: an error.
    let mut bad = log.clone();
    bad.extend_from_slice(&b1);
    bad.extend_from_slice(&batch(
        synced + b1.len() as u64,
        &[Record::InInsert { packet_id: 44 }],
    ));
    fs::write(d.join(LOG_FILE), &bad).unwrap();
    match FileStore::open(&d) {
        Err(StoreError::Corrupt { offset, .. }) => assert_eq!(offset, synced),
        other => panic!("{other:?}"),
    }
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn zeros_or_garbage_at_the_end_are_cut_damage_in_the_middle_is_an_error() {
    let d = dir("garbage");
    let before = {
        let mut s = FileStore::open(&d).unwrap();
        populate(&mut s);
        snapshot(&s)
    };
    let log = fs::read(d.join(LOG_FILE)).unwrap();

    // Zeroed blocks after the last batch (a power cut after the size was extended).
    let mut zeros = log.clone();
    zeros.extend_from_slice(&[0; 4096]);
    fs::write(d.join(LOG_FILE), &zeros).unwrap();
    assert_eq!(snapshot(&FileStore::open(&d).unwrap()), before);

    // A garbage tail that holds no whole record.
    let mut tail = log.clone();
    tail.extend_from_slice(b"\x05\x00\x00\x00garbage!");
    fs::write(d.join(LOG_FILE), &tail).unwrap();
    assert_eq!(snapshot(&FileStore::open(&d).unwrap()), before);

    // One flipped bit in the middle, whole records after it: an error naming the offset.
    for at in [
        FILE_HEADER + 3,
        FILE_HEADER + 12,
        FILE_HEADER + 30,
        log.len() / 2,
    ] {
        let mut bad = log.clone();
        bad[at] ^= 0x10;
        fs::write(d.join(LOG_FILE), &bad).unwrap();
        match FileStore::open(&d) {
            Err(StoreError::Corrupt { offset, .. }) => assert!(offset <= at as u64),
            other => panic!("flip at {at}: {other:?}"),
        }
    }

    // Not a session log at all.
    fs::write(d.join(LOG_FILE), b"{\"hello\": \"world\"}\n").unwrap();
    let err = FileStore::open(&d).unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { offset: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("damaged at byte 0"), "{err}");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn records_that_contradict_the_state_are_an_error() {
    let d = dir("contradict");
    drop(FileStore::open(&d).unwrap());
    let cases: Vec<Vec<Record<'static>>> = vec![
        vec![Record::Remove { packet_id: 3 }],
        vec![Record::Release { packet_id: 3 }],
        vec![Record::InRemove { packet_id: 3 }],
        vec![Record::Renumber { old: 3, new: 4 }],
        vec![
            Record::Push {
                packet_id: 1,
                qos: 1,
                retain: false,
                topic: "t",
                payload: b"",
            },
            Record::Push {
                packet_id: 2,
                qos: 1,
                retain: false,
                topic: "t",
                payload: b"",
            },
            Record::Renumber { old: 1, new: 2 },
        ],
        vec![
            Record::Push {
                packet_id: 1,
                qos: 1,
                retain: false,
                topic: "t",
                payload: b"",
            },
            Record::Renumber { old: 1, new: 0 },
        ],
        vec![Record::InInsert { packet_id: 0 }],
        vec![Record::Push {
            packet_id: 1,
            qos: 0,
            retain: false,
            topic: "t",
            payload: b"",
        }],
        vec![
            Record::InInsert { packet_id: 1 },
            Record::InInsert { packet_id: 1 },
        ],
        vec![Record::Done { seq: 5 }],
        // Counters at their end: the next received message would have no number.
        vec![Record::Counters {
            accepted: 0,
            received: u64::MAX,
            done: 0,
        }],
        vec![Record::Received {
            seq: u64::MAX,
            qos: 1,
            retain: false,
            dup: false,
            topic: "t",
            payload: b"",
        }],
    ];
    for records in cases {
        let mut log = file_header(0).to_vec();
        log.extend_from_slice(&batch(0, &records));
        fs::write(d.join(LOG_FILE), &log).unwrap();
        assert!(
            matches!(FileStore::open(&d), Err(StoreError::Corrupt { .. })),
            "{records:?}"
        );
    }
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn accepted_counter_at_its_end_saturates() {
    let d = dir("accepted-max");
    drop(FileStore::open(&d).unwrap());
    let mut log = file_header(0).to_vec();
    log.extend_from_slice(&batch(
        0,
        &[
            Record::Counters {
                accepted: u64::MAX,
                received: 0,
                done: 0,
            },
            Record::Push {
                packet_id: 1,
                qos: 1,
                retain: false,
                topic: "t",
                payload: b"",
            },
        ],
    ));
    fs::write(d.join(LOG_FILE), &log).unwrap();
    let mut s = FileStore::open(&d).unwrap();
    assert_eq!(s.accepted_publishes(), u64::MAX);
    push(&mut s, 2, QoS::AtLeastOnce, b"x");
    assert_eq!(s.accepted_publishes(), u64::MAX);
    drop(s);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn compaction_keeps_the_live_state_and_shrinks_the_log() {
    let d = dir("compact");
    let options = FileStoreOptions {
        compact_at: 64 * 1024,
        ..FileStoreOptions::default()
    };
    let mut s = FileStore::open_with(&d, options).unwrap();
    populate(&mut s);
    // Many complete flows: the log grows, the live state does not.
    let payload = vec![7u8; 500];
    let mut max_len = 0;
    for round in 0..2_000u32 {
        let n = 100 + (round % 1000) as u16;
        push(&mut s, n, QoS::ExactlyOnce, &payload);
        assert!(s.release_outgoing(id(n)));
        assert!(s.remove_outgoing(id(n)));
        let seq = s
            .record_received(QoS::ExactlyOnce, false, false, "in", &payload)
            .unwrap();
        s.taken(seq);
        s.sync().unwrap();
        max_len = max_len.max(s.log_len());
    }
    let live = snapshot(&s);
    assert!(max_len <= 64 * 1024 + 2_000, "log grew to {max_len}");
    assert_eq!(live.accepted, 2_004);
    assert_eq!(live.last_received, 2_002);
    drop(s);
    let s = FileStore::open_with(&d, options).unwrap();
    assert_eq!(snapshot(&s), live);
    // An explicit compaction leaves just the snapshot.
    s.compact_now().unwrap();
    let small = s.log_len();
    drop(s);
    assert!(small < 2_000, "{small}");
    assert_eq!(snapshot(&FileStore::open(&d).unwrap()), live);
    // A compaction that died before its rename left its temporary file: ignored.
    fs::write(d.join("session.log.tmp"), b"half a snapshot").unwrap();
    assert_eq!(snapshot(&FileStore::open(&d).unwrap()), live);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_second_open_is_refused_until_the_first_closes() {
    let d = dir("lock");
    let first = FileStore::open(&d).unwrap();
    let err = FileStore::open(&d).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
    drop(first);
    drop(FileStore::open(&d).unwrap());
    fs::remove_dir_all(&d).unwrap();
}

/// Drives a session over `store` through CONNECT/CONNACK(session present), returning the
/// bytes it sends right after.
fn resume(store: FileStore) -> (Session<FileStore, Vec<u8>>, Vec<u8>) {
    let mut s = Session::new(Config::default(), store, vec![0; 4096], vec![0; 4096]);
    let now = Instant::from_millis(0);
    s.handle_transport_up(now);
    let mut opts = ConnectOptions::new("durable");
    opts.clean_session = false;
    s.connect(now, &opts).unwrap();
    let mut out = vec![0; 4096];
    while s.poll_transmit(now, &mut out).unwrap().is_some() {}
    s.handle_receive(now, &[0x20, 0x02, 0x01, 0x00]);
    while s.poll_event().is_some() {}
    let mut sent = Vec::new();
    while let Some(n) = s.poll_transmit(now, &mut out).unwrap() {
        sent.extend_from_slice(&out[..n]);
    }
    (s, sent)
}

#[test]
fn a_session_over_a_reopened_store_resends_with_dup_and_original_ids() {
    let d = dir("session");
    {
        let (mut s, sent) = resume(FileStore::open(&d).unwrap());
        assert!(sent.is_empty());
        let now = Instant::from_millis(1);
        let a = s.publish(now, "a", b"1", QoS::AtLeastOnce, false).unwrap();
        let b = s.publish(now, "b", b"2", QoS::ExactlyOnce, false).unwrap();
        let c = s.publish(now, "c", b"3", QoS::ExactlyOnce, false).unwrap();
        assert_eq!((a, b, c), (Some(id(1)), Some(id(2)), Some(id(3))));
        let mut out = vec![0; 4096];
        while s.poll_transmit(now, &mut out).unwrap().is_some() {}
        // PUBREC for 2; PUBACK for 1; and an incoming QoS 2 PUBLISH id 9.
        s.handle_receive(now, &[0x50, 0x02, 0x00, 0x02, 0x40, 0x02, 0x00, 0x01]);
        s.handle_receive(now, &[0x34, 0x06, 0x00, 0x01, b'x', 0x00, 0x09, b'!']);
        while s.poll_event().is_some() {}
        // The driver syncs before writing PUBREL 2 and PUBREC 9.
        s.store().sync().unwrap();
        while s.poll_transmit(now, &mut out).unwrap().is_some() {}
        // The process dies here (the session is dropped).
    }
    let store = FileStore::open(&d).unwrap();
    assert_eq!(store.outgoing_len(), 2);
    assert!(store.contains_incoming(id(9)));
    let (mut s, sent) = resume(store);
    // PUBREL 2 and PUBLISH 3 with DUP, in the original order.
    assert_eq!(sent, b"\x62\x02\x00\x02\x3c\x06\x00\x01c\x00\x033");
    // The broker resends PUBLISH 9 (DUP): answered, not delivered again.
    let now = Instant::from_millis(2);
    s.handle_receive(now, &[0x3c, 0x06, 0x00, 0x01, b'x', 0x00, 0x09, b'!']);
    assert!(s.poll_event().is_none());
    // A new publish does not reuse the ids in flight.
    let d4 = s.publish(now, "d", b"4", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(d4, Some(id(1)));
    let e5 = s.publish(now, "e", b"5", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(e5, Some(id(4)));
    drop(s);
    fs::remove_dir_all(&d).unwrap();
}
