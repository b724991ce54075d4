//! Unit tests of the log's framing and records: round trips, damaged headers, cut bodies.

use super::*;

fn all() -> Vec<Record<'static>> {
    vec![
        Record::Push {
            packet_id: 7,
            qos: 2,
            retain: true,
            topic: "a/b",
            payload: b"xyz",
        },
        Record::PushV5 {
            packet_id: 8,
            qos: 1,
            retain: false,
            expires: Some(1_700_000_000_000),
            properties: &[
                0x02, 0x00, 0x00, 0x00, 0x3C, 0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v',
            ],
            topic: "a/c",
            payload: b"",
        },
        Record::PushV5 {
            packet_id: 9,
            qos: 2,
            retain: true,
            expires: None,
            properties: &[0x01, 0x01],
            topic: "",
            payload: b"p",
        },
        Record::Release { packet_id: 7 },
        Record::Remove { packet_id: 65535 },
        Record::Renumber { old: 3, new: 65535 },
        Record::InInsert { packet_id: 1 },
        Record::InRemove { packet_id: 2 },
        Record::InClear,
        Record::Received {
            seq: 99,
            qos: 1,
            retain: false,
            dup: true,
            topic: "t",
            payload: b"",
        },
        Record::Done { seq: 5 },
        Record::Counters {
            accepted: 1,
            received: 2,
            done: 3,
        },
    ]
}

#[test]
fn every_record_round_trips_in_a_batch() {
    let recs = all();
    let b = batch(77, &recs);
    let h = header(&b).expect("a sealed header");
    assert_eq!(h.body_len as usize, b.len() - BATCH_HEADER);
    assert_eq!(h.synced, 77);
    let body = &b[BATCH_HEADER..];
    assert_eq!(crc32(body), h.body_crc);
    let back: Vec<_> = records(body).map(Result::unwrap).collect();
    assert_eq!(back, recs);
}

#[test]
fn every_flipped_header_bit_is_caught_and_zeros_are_no_header() {
    let b = batch(5, &all());
    for i in 0..BATCH_HEADER * 8 {
        let mut x = b.clone();
        x[i / 8] ^= 1 << (i % 8);
        assert_eq!(header(&x), None, "bit {i}");
    }
    assert_eq!(header(&[0; BATCH_HEADER]), None);
    for cut in 0..BATCH_HEADER {
        assert_eq!(header(&b[..cut]), None);
    }
}

#[test]
fn a_body_cut_or_padded_inside_is_an_error_not_a_panic() {
    let b = batch(0, &all());
    let body = &b[BATCH_HEADER..];
    for cut in 1..body.len() {
        // Every prefix decodes as whole records then an error, or whole records only.
        let n = records(&body[..cut]).filter(Result::is_err).count();
        assert!(n <= 1, "cut {cut}");
    }
}
