//! MQTT 5.0 PUBLISH properties in the log: kept across a restart with the deadline of an
//! expiring message on the wall clock, written again by a session resumed over the reopened
//! store, refused when damaged, cut when torn; logs without them are as before.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mqtt_proto::v5::{Properties, Property};
use mqtt_proto::{PacketId, QoS};
use mqtt_session::{
    Config, ConnectOptionsV5, Event, Instant, Outgoing, OutgoingState, Session, Store,
};

use super::record::{self, BATCH_HEADER, FILE_HEADER, Record, SLOT_AT, batch, file_header, slot};
use super::vfs::{OsFs, VFile, Vfs};
use super::{FileStore, FileStoreOptions, LOG_FILE, StoreError};

/// The operating system's files with a wall clock the test sets.
#[derive(Debug, Clone)]
struct Clocked {
    wall: Arc<AtomicU64>,
}

impl Clocked {
    /// A clock at some moment of 2024.
    fn new() -> Self {
        Clocked {
            wall: Arc::new(AtomicU64::new(1_717_000_000_000)),
        }
    }

    fn advance(&self, ms: u64) {
        self.wall.fetch_add(ms, Ordering::SeqCst);
    }

    fn open(&self, dir: &Path) -> Result<FileStore, StoreError> {
        FileStore::open_in(Box::new(self.clone()), dir, FileStoreOptions::default())
    }
}

impl Vfs for Clocked {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        OsFs.create_dir_all(dir)
    }
    fn open_or_create(&self, path: &Path) -> io::Result<Box<dyn VFile>> {
        OsFs.open_or_create(path)
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn VFile>> {
        OsFs.create_new(path)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        OsFs.remove_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        OsFs.rename(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        OsFs.sync_dir(dir)
    }
    fn wall_ms(&self) -> u64 {
        self.wall.load(Ordering::SeqCst)
    }
}

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mqtt-std-store5-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn id(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

/// Message Expiry Interval 60 and a User Property, as PUBLISH property bytes.
const PROPS: &[u8] = &[
    0x02, 0x00, 0x00, 0x00, 0x3C, 0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v',
];

fn push(s: &mut FileStore, n: u16, qos: QoS, properties: &[u8], expires: Option<u64>) {
    s.push_outgoing(&Outgoing {
        packet_id: id(n),
        qos,
        retain: false,
        state: OutgoingState::Publish,
        topic: "t",
        payload: b"a",
        properties,
        expires: expires.map(Instant::from_millis),
    })
    .unwrap();
}

/// Each held message: id, state, properties, deadline in ms on the session's clock.
fn held(s: &FileStore) -> Vec<(u16, OutgoingState, Vec<u8>, Option<u64>)> {
    (0..s.outgoing_len())
        .map(|i| {
            let m = s.outgoing(i).unwrap();
            (
                m.packet_id.get(),
                m.state,
                m.properties.to_vec(),
                m.expires.map(Instant::as_millis),
            )
        })
        .collect()
}

/// Every record of a log, by kind: `true` for `PushV5`.
fn v5_records(log: &[u8]) -> Vec<bool> {
    let mut kinds = Vec::new();
    let mut pos = FILE_HEADER;
    while let Some(h) = log.get(pos..).and_then(record::header) {
        let end = pos + BATCH_HEADER + h.body_len as usize;
        for r in record::records(&log[pos + BATCH_HEADER..end]) {
            let r = r.unwrap();
            match r {
                Record::PushV5 { .. } => kinds.push(true),
                Record::Push { .. } => kinds.push(false),
                _ => {}
            }
        }
        pos = end;
    }
    kinds
}

#[test]
fn a_restart_keeps_the_properties_and_the_time_left() {
    let d = dir("restart");
    let clock = Clocked::new();
    {
        let mut s = clock.open(&d).unwrap();
        // Expires 60 s after the store opened, on the session's clock.
        push(&mut s, 1, QoS::AtLeastOnce, PROPS, Some(60_000));
        push(&mut s, 2, QoS::ExactlyOnce, &[0x01, 0x01], None);
        push(&mut s, 3, QoS::AtLeastOnce, &[], None);
        s.sync().unwrap();
    }
    // Only the messages with properties need the new record.
    assert_eq!(
        v5_records(&fs::read(d.join(LOG_FILE)).unwrap()),
        [true, true, false]
    );
    // 25 s later in a new process: 35 s left, counted from its clock's start.
    clock.advance(25_000);
    let s = clock.open(&d).unwrap();
    assert_eq!(
        held(&s),
        [
            (1, OutgoingState::Publish, PROPS.to_vec(), Some(35_000)),
            (2, OutgoingState::Publish, vec![0x01, 0x01], None),
            (3, OutgoingState::Publish, vec![], None),
        ]
    );
    // A compaction keeps the same deadline on the wall clock.
    s.compact_now().unwrap();
    drop(s);
    clock.advance(5_000);
    let mut s = clock.open(&d).unwrap();
    assert_eq!(
        held(&s)[0],
        (1, OutgoingState::Publish, PROPS.to_vec(), Some(30_000))
    );
    // PUBREC: the properties go with the topic and payload, in memory and after a restart.
    assert!(s.release_outgoing(id(2)));
    assert!(s.outgoing(1).unwrap().properties.is_empty());
    s.compact_now().unwrap();
    drop(s);
    let s = clock.open(&d).unwrap();
    assert_eq!(held(&s)[1], (2, OutgoingState::Released, vec![], None));
    drop(s);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_deadline_that_passed_while_the_process_was_down_is_handed_back_as_over() {
    let d = dir("passed");
    let clock = Clocked::new();
    {
        let mut s = clock.open(&d).unwrap();
        push(&mut s, 1, QoS::AtLeastOnce, PROPS, Some(10_000));
    }
    clock.advance(3_600_000);
    let s = clock.open(&d).unwrap();
    assert_eq!(held(&s)[0].3, Some(0));
    drop(s);
    fs::remove_dir_all(&d).unwrap();
}

/// CONNECT (5.0, Clean Start 0, Session Expiry Interval 60) and the CONNACK `connack`: a
/// session over `store` at `now`, with what it sent after the CONNACK and its events.
fn resume(
    store: FileStore,
    now: Instant,
    connack: &[u8],
) -> (Session<FileStore, Vec<u8>>, Vec<u8>, Vec<String>) {
    let expiry = [Property::SessionExpiryInterval(60)];
    let mut c = ConnectOptionsV5::new("durable");
    c.options.clean_session = false;
    c.properties = Properties::new(&expiry);
    let mut s = Session::new(Config::default(), store, vec![0; 4096], vec![0; 4096]);
    s.handle_transport_up(now);
    s.connect(now, &c).unwrap();
    let mut out = vec![0; 4096];
    while s.poll_transmit(now, &mut out).unwrap().is_some() {}
    s.handle_receive(now, connack);
    let mut sent = Vec::new();
    let mut events = Vec::new();
    loop {
        while let Some(e) = s.poll_event() {
            events.push(format!("{e:?}"));
        }
        let mut any = false;
        while let Some(n) = s.poll_transmit(now, &mut out).unwrap() {
            sent.extend_from_slice(&out[..n]);
            any = true;
        }
        if !any && s.poll_timeout() != Some(now) {
            break;
        }
    }
    (s, sent, events)
}

const CONNACK: &[u8] = &[0x20, 0x03, 0x00, 0x00, 0x00];
const CONNACK_PRESENT: &[u8] = &[0x20, 0x03, 0x01, 0x00, 0x00];

/// PUBLISH of "a" on "t", id 1, with [`PROPS`], the Message Expiry Interval `secs`.
fn publish_bytes(first: u8, secs: u32) -> Vec<u8> {
    let mut p = vec![first, 0x13, 0x00, 0x01, b't', 0x00, 0x01, 0x0C];
    p.extend_from_slice(PROPS);
    p[9..13].copy_from_slice(&secs.to_be_bytes());
    p.push(b'a');
    p
}

/// A session publishes QoS `qos` with [`PROPS`] 1 s after the store opened and writes the
/// PUBLISH; the process dies.
fn publish_and_die(clock: &Clocked, d: &Path, qos: QoS) {
    let (mut s, sent, _) = resume(clock.open(d).unwrap(), Instant::ZERO, CONNACK);
    assert!(sent.is_empty());
    let now = Instant::from_millis(1_000);
    let props = [
        Property::MessageExpiryInterval(60),
        Property::UserProperty("k", "v"),
    ];
    let pid = s
        .publish_with(now, "t", b"a", qos, false, &Properties::new(&props))
        .unwrap();
    assert_eq!(pid, Some(id(1)));
    s.store().sync().unwrap();
    let mut out = vec![0; 4096];
    let n = s.poll_transmit(now, &mut out).unwrap().unwrap();
    let first = if qos == QoS::ExactlyOnce { 0x34 } else { 0x32 };
    assert_eq!(&out[..n], publish_bytes(first, 60));
}

#[test]
fn a_resend_after_a_restart_carries_the_properties_and_the_interval_left() {
    let d = dir("resend");
    let clock = Clocked::new();
    publish_and_die(&clock, &d, QoS::AtLeastOnce);
    // Restarted 20.5 s after the first store opened: 19.5 s after the publish, so 19
    // whole seconds are gone and 41 are left.
    clock.advance(20_500);
    let (mut s, sent, _) = resume(clock.open(&d).unwrap(), Instant::ZERO, CONNACK_PRESENT);
    assert_eq!(sent, publish_bytes(0x3A, 41));
    s.handle_receive(Instant::ZERO, &[0x40, 0x02, 0x00, 0x01]);
    assert!(matches!(
        s.poll_event(),
        Some(Event::PublishAcknowledged { .. })
    ));
    s.store().sync().unwrap();
    drop(s);
    assert_eq!(clock.open(&d).unwrap().outgoing_len(), 0);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn mqtt_4_3_3_7_a_qos2_message_that_expired_while_down_is_resent_with_nothing_left() {
    let d = dir("expired-resumed");
    let clock = Clocked::new();
    publish_and_die(&clock, &d, QoS::ExactlyOnce);
    clock.advance(120_000);
    // The store cannot tell whether the PUBLISH went out: resent (DUP=1), with 0 left
    // [MQTT-4.4.0-1, MQTT-4.3.3-7].
    let (_, sent, _) = resume(clock.open(&d).unwrap(), Instant::ZERO, CONNACK_PRESENT);
    assert_eq!(sent, publish_bytes(0x3C, 0));
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_message_that_expired_while_down_in_a_lost_session_is_reported() {
    let d = dir("expired-lost");
    let clock = Clocked::new();
    publish_and_die(&clock, &d, QoS::AtLeastOnce);
    clock.advance(120_000);
    // The broker has no session: the message would be new, and its lifetime is over.
    let (s, sent, events) = resume(clock.open(&d).unwrap(), Instant::ZERO, CONNACK);
    assert!(sent.is_empty(), "{sent:02x?}");
    assert_eq!(
        events[events.len() - 2..],
        [
            "Republished { old: PacketId(1), new: PacketId(2) }",
            "PublishExpired { packet_id: PacketId(2) }"
        ]
    );
    s.store().sync().unwrap();
    drop(s);
    assert_eq!(clock.open(&d).unwrap().outgoing_len(), 0);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_torn_properties_record_at_every_byte_offset_recovers_the_previous_state() {
    let d = dir("torn");
    let clock = Clocked::new();
    let (before, full, after) = {
        let mut s = clock.open(&d).unwrap();
        push(&mut s, 1, QoS::AtLeastOnce, PROPS, Some(60_000));
        push(&mut s, 2, QoS::AtLeastOnce, &[], None);
        s.sync().unwrap();
        let before = held(&s);
        let len = s.log_len() as usize;
        // The last batch: a publish with properties, written, not synced.
        push(&mut s, 3, QoS::ExactlyOnce, PROPS, Some(30_000));
        (before, len, held(&s))
    };
    let mut whole = fs::read(d.join(LOG_FILE)).unwrap();
    whole[SLOT_AT as usize..FILE_HEADER].copy_from_slice(&slot(full as u64));
    assert_eq!(v5_records(&whole), [true, false, true]);
    for cut in full..=whole.len() {
        fs::write(d.join(LOG_FILE), &whole[..cut]).unwrap();
        let s = clock.open(&d).unwrap();
        let expected = if cut == whole.len() { &after } else { &before };
        assert_eq!(&held(&s), expected, "cut at {cut} of {}", whole.len());
        if cut < whole.len() {
            assert_eq!(fs::metadata(d.join(LOG_FILE)).unwrap().len(), full as u64);
        }
    }
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn damaged_properties_in_a_whole_batch_are_corrupt() {
    let d = dir("damaged");
    let clock = Clocked::new();
    drop(clock.open(&d).unwrap());
    let push_v5 = |flags_expires: Option<u64>, properties: &'static [u8]| Record::PushV5 {
        packet_id: 1,
        qos: 1,
        retain: false,
        expires: flags_expires,
        properties,
        topic: "t",
        payload: b"a",
    };
    let cases: Vec<Record<'static>> = vec![
        // A Topic Alias belongs to one connection [MQTT-3.3.2-7].
        push_v5(None, &[0x23, 0x00, 0x01]),
        // A client never sends a Subscription Identifier [MQTT-3.3.4-6].
        push_v5(None, &[0x0B, 0x01]),
        // Not a PUBLISH property (Session Expiry Interval), unknown, cut short, repeated.
        push_v5(None, &[0x11, 0x00, 0x00, 0x00, 0x01]),
        push_v5(None, &[0x7F]),
        push_v5(Some(5), &[0x02, 0x00, 0x00]),
        push_v5(None, &[0x01, 0x01, 0x01, 0x00]),
        // A Payload Format Indicator of 2.
        push_v5(None, &[0x01, 0x02]),
    ];
    for r in &cases {
        let mut log = file_header(0).to_vec();
        log.extend_from_slice(&batch(0, std::slice::from_ref(r)));
        fs::write(d.join(LOG_FILE), &log).unwrap();
        match clock.open(&d) {
            Err(StoreError::Corrupt { offset, reason, .. }) => {
                assert_eq!(offset, FILE_HEADER as u64, "{r:?}");
                assert!(reason.contains("PUBLISH properties"), "{reason}");
            }
            other => panic!("{r:?}: {other:?}"),
        }
    }
    // Bad flags, a property length past the record, a bad QoS: corrupt too.
    let good = {
        let mut v = Vec::new();
        push_v5(Some(7), &[0x01, 0x01]).encode(&mut v);
        v
    };
    // record = len (4) | kind | id (2) | qos | flags | expires (8) | props len (4) | ...
    let mut bad_flags = good.clone();
    bad_flags[8] |= 0x80;
    let mut long_props = good.clone();
    long_props[17] = 0xFF;
    let mut bad_qos = good.clone();
    bad_qos[7] = 0;
    for rec in [bad_flags, long_props, bad_qos] {
        let mut raw = vec![0; BATCH_HEADER];
        raw.extend_from_slice(&rec);
        let mut log = file_header(0).to_vec();
        log.extend_from_slice(&reseal(&raw));
        fs::write(d.join(LOG_FILE), &log).unwrap();
        assert!(
            matches!(clock.open(&d), Err(StoreError::Corrupt { .. })),
            "{rec:02x?}"
        );
    }
    fs::remove_dir_all(&d).unwrap();
}

/// A batch of hand-made records (after room for the header), with its header computed.
fn reseal(batch: &[u8]) -> Vec<u8> {
    let body = &batch[BATCH_HEADER..];
    let mut out = batch.to_vec();
    out[..8].copy_from_slice(&(body.len() as u64).to_le_bytes());
    out[8..16].copy_from_slice(&0u64.to_le_bytes());
    out[16..20].copy_from_slice(&super::crc::crc32(body).to_le_bytes());
    let head = super::crc::crc32(&out[..20]);
    out[20..24].copy_from_slice(&head.to_le_bytes());
    out
}

#[test]
fn a_log_of_the_earlier_records_reads_as_messages_without_properties() {
    let d = dir("old");
    let clock = Clocked::new();
    drop(clock.open(&d).unwrap());
    // Written before the 5.0 record existed.
    let mut log = file_header(0).to_vec();
    log.extend_from_slice(&batch(
        0,
        &[
            Record::Push {
                packet_id: 4,
                qos: 2,
                retain: true,
                topic: "old",
                payload: b"x",
            },
            Record::Release { packet_id: 4 },
            Record::Push {
                packet_id: 5,
                qos: 1,
                retain: false,
                topic: "old",
                payload: b"y",
            },
        ],
    ));
    fs::write(d.join(LOG_FILE), &log).unwrap();
    let mut s = clock.open(&d).unwrap();
    assert_eq!(
        held(&s),
        [
            (4, OutgoingState::Released, vec![], None),
            (5, OutgoingState::Publish, vec![], None)
        ]
    );
    let m = s.outgoing(1).unwrap();
    assert_eq!((m.topic, m.payload), ("old", &b"y"[..]));
    // What a 3.1.1 session adds is written as before.
    push(&mut s, 6, QoS::AtLeastOnce, &[], None);
    s.compact_now().unwrap();
    drop(s);
    assert_eq!(
        v5_records(&fs::read(d.join(LOG_FILE)).unwrap()),
        [false, false, false]
    );
    fs::remove_dir_all(&d).unwrap();
}
