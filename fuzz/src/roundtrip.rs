//! The `roundtrip` target: an arbitrary packet is encoded, then decoded.
//!
//! A first byte with bit 6 set ([`V5`]) makes the input a 5.0 packet (`roundtrip_v5.rs`);
//! otherwise it is a 3.1.1 packet as described here. (The 3.1.1 packet type is the first
//! byte's low seven bits modulo 14, so the tags 0x00 to 0x3F, and 0x80 to 0xBF in raw mode,
//! still reach every type.)
//!
//! The input describes one packet ([`Spec`]). In the default mode every field is fixed up to
//! satisfy the rules the types cannot carry (no U+0000 in strings, a user name with a password,
//! a client id with clean session off, no DUP on QoS 0, a non-empty filter list, ...), so the
//! packet is valid and must encode. In the raw mode (first byte >= 0x80) nothing is fixed up:
//! the encoder may refuse the packet ([`EncodeError::Invalid`], writing nothing), and whatever
//! it accepts must decode back.
//!
//! Checks: `encoded_len` equals the bytes written; nothing is written past them; a buffer one
//! byte short (or smaller) is refused with the exact size and left untouched; `decode` gives the
//! same packet and consumes exactly those bytes (also with trailing bytes); every proper prefix
//! is "incomplete", never an error; `frame`, `decode_body` and `encode_to_bytes` agree.

use arbitrary::{Arbitrary, Unstructured};
use mqtt_proto::{
    ConnAck, Connect, ConnectReturnCode, DecodeError, Decoder, EncodeError, Frame, Packet,
    PacketId, Publish, QoS, QosPid, SubAck, SubAckCodes, Subscribe, SubscribeFilters, TopicFilter,
    TopicFilters, TopicName, Unsubscribe, Will,
};

use crate::input::In;
#[cfg(test)]
use crate::input::Out;

/// One packet, with owned data (see the module docs for the two modes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    Connect {
        clean_session: bool,
        keep_alive: u16,
        client_id: String,
        will: Option<(String, Vec<u8>, QoS, bool)>,
        username: Option<String>,
        password: Option<Vec<u8>>,
    },
    ConnAck {
        session_present: bool,
        code: u8,
    },
    Publish {
        dup: bool,
        qos: QoS,
        retain: bool,
        packet_id: u16,
        topic: String,
        payload: Vec<u8>,
    },
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    Subscribe {
        packet_id: u16,
        filters: Vec<(String, QoS)>,
    },
    SubAck {
        packet_id: u16,
        codes: Vec<u8>,
    },
    Unsubscribe {
        packet_id: u16,
        filters: Vec<String>,
    },
    UnsubAck(u16),
    PingReq,
    PingResp,
    Disconnect,
}

/// The input of the target: a packet and whether it was fixed up to be valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub raw: bool,
    pub spec: Spec,
}

pub(crate) fn qos(b: u8) -> QoS {
    match b % 3 {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// Keep what a topic name may hold: no U+0000, `+`, `#`; never empty.
pub(crate) fn fix_topic_name(s: &str) -> String {
    if TopicName::new(s).is_ok() {
        return s.to_owned();
    }
    let t: String = s
        .chars()
        .filter(|c| !matches!(c, '\0' | '+' | '#'))
        .collect();
    if t.is_empty() { "t".to_owned() } else { t }
}

/// Keep a valid filter as it is; otherwise drop wildcards and U+0000; never empty.
pub(crate) fn fix_topic_filter(s: &str) -> String {
    if TopicFilter::new(s).is_ok() {
        return s.to_owned();
    }
    fix_topic_name(s)
}

pub(crate) fn fix_string(s: &str) -> String {
    s.chars().filter(|&c| c != '\0').collect()
}

fn read_filter(r: &mut In<'_, '_>, raw: bool) -> String {
    let s = r.str();
    if raw {
        s.to_owned()
    } else {
        fix_topic_filter(s)
    }
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut r = In::new(u);
        let tag = r.u8();
        let raw = tag & 0x80 != 0;
        let id = |r: &mut In<'_, '_>| match r.u16() {
            0 if !raw => 1,
            n => n,
        };
        let spec = match (tag & 0x7F) % 14 {
            0 => {
                let flags = r.u8();
                let keep_alive = r.u16();
                let mut client_id = r.str().to_owned();
                let mut clean_session = flags & 1 != 0;
                let will = if flags & 2 != 0 {
                    let topic = r.str();
                    let topic = if raw {
                        topic.to_owned()
                    } else {
                        fix_topic_name(topic)
                    };
                    let payload = r.bytes().to_vec();
                    Some((topic, payload, qos(flags >> 5), flags & 16 != 0))
                } else {
                    None
                };
                let mut username = (flags & 4 != 0).then(|| r.str().to_owned());
                let password = (flags & 8 != 0).then(|| r.bytes().to_vec());
                if !raw {
                    client_id = fix_string(&client_id);
                    username = username.map(|u| fix_string(&u));
                    if client_id.is_empty() {
                        clean_session = true;
                    }
                    if password.is_some() && username.is_none() {
                        username = Some(String::new());
                    }
                }
                Spec::Connect {
                    clean_session,
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                }
            }
            1 => {
                let flags = r.u8();
                let code = if raw { r.u8() } else { r.u8() % 6 };
                Spec::ConnAck {
                    session_present: flags & 1 != 0 && (raw || code == 0),
                    code,
                }
            }
            2 => {
                let flags = r.u8();
                let qos = qos(flags >> 2);
                let packet_id = if qos == QoS::AtMostOnce {
                    0
                } else {
                    id(&mut r)
                };
                let topic = r.str();
                let topic = if raw {
                    topic.to_owned()
                } else {
                    fix_topic_name(topic)
                };
                Spec::Publish {
                    dup: flags & 1 != 0 && (raw || qos != QoS::AtMostOnce),
                    qos,
                    retain: flags & 2 != 0,
                    packet_id,
                    topic,
                    payload: r.bytes().to_vec(),
                }
            }
            3 => Spec::PubAck(id(&mut r)),
            4 => Spec::PubRec(id(&mut r)),
            5 => Spec::PubRel(id(&mut r)),
            6 => Spec::PubComp(id(&mut r)),
            7 => {
                let packet_id = id(&mut r);
                let n = usize::from(r.u8() % 16);
                let n = if raw { n } else { n.max(1) };
                let filters = (0..n)
                    .map(|_| {
                        let f = read_filter(&mut r, raw);
                        (f, qos(r.u8()))
                    })
                    .collect();
                Spec::Subscribe { packet_id, filters }
            }
            8 => {
                let packet_id = id(&mut r);
                let mut codes = r.bytes().to_vec();
                if !raw {
                    for c in &mut codes {
                        *c = [0x00, 0x01, 0x02, 0x80][usize::from(*c % 4)];
                    }
                    if codes.is_empty() {
                        codes.push(0x80);
                    }
                }
                Spec::SubAck { packet_id, codes }
            }
            9 => {
                let packet_id = id(&mut r);
                let n = usize::from(r.u8() % 16);
                let n = if raw { n } else { n.max(1) };
                let filters = (0..n).map(|_| read_filter(&mut r, raw)).collect();
                Spec::Unsubscribe { packet_id, filters }
            }
            10 => Spec::UnsubAck(id(&mut r)),
            11 => Spec::PingReq,
            12 => Spec::PingResp,
            _ => Spec::Disconnect,
        };
        Ok(Input { raw, spec })
    }
}

/// The byte form of a packet as [`Input::arbitrary`] reads it (default mode), for seeds.
#[cfg(test)]
pub(crate) fn write(packet: &Packet<'_>) -> Vec<u8> {
    let mut o = Out::default();
    match packet {
        Packet::Connect(c) => {
            let will_flags = c.will.map_or(0, |w| {
                2 | if w.retain { 16 } else { 0 } | (w.qos.as_u8() << 5)
            });
            let flags = u8::from(c.clean_session)
                | will_flags
                | if c.username.is_some() { 4 } else { 0 }
                | if c.password.is_some() { 8 } else { 0 };
            o.u8(0).u8(flags).u16(c.keep_alive).str(c.client_id);
            if let Some(w) = c.will {
                o.str(w.topic.as_str()).bytes(w.payload);
            }
            if let Some(u) = c.username {
                o.str(u);
            }
            if let Some(p) = c.password {
                o.bytes(p);
            }
        }
        Packet::ConnAck(c) => {
            o.u8(1).bool(c.session_present).u8(c.code.as_u8());
        }
        Packet::Publish(p) => {
            let flags =
                u8::from(p.dup) | if p.retain { 2 } else { 0 } | (p.qos_pid.qos().as_u8() << 2);
            o.u8(2).u8(flags);
            if let Some(id) = p.qos_pid.packet_id() {
                o.u16(id.get());
            }
            o.str(p.topic.as_str()).bytes(p.payload);
        }
        Packet::PubAck(id) => {
            o.u8(3).u16(id.get());
        }
        Packet::PubRec(id) => {
            o.u8(4).u16(id.get());
        }
        Packet::PubRel(id) => {
            o.u8(5).u16(id.get());
        }
        Packet::PubComp(id) => {
            o.u8(6).u16(id.get());
        }
        Packet::Subscribe(s) => {
            o.u8(7).u16(s.packet_id.get()).u8(s.filters.len() as u8);
            for (f, q) in s.filters.iter() {
                o.str(f.as_str()).u8(q.as_u8());
            }
        }
        Packet::SubAck(s) => {
            let codes: Vec<u8> = s
                .codes
                .as_bytes()
                .iter()
                .map(|&c| if c == 0x80 { 3 } else { c })
                .collect();
            o.u8(8).u16(s.packet_id.get()).bytes(&codes);
        }
        Packet::Unsubscribe(s) => {
            o.u8(9).u16(s.packet_id.get()).u8(s.filters.len() as u8);
            for f in s.filters.iter() {
                o.str(f.as_str());
            }
        }
        Packet::UnsubAck(id) => {
            o.u8(10).u16(id.get());
        }
        Packet::PingReq => {
            o.u8(11);
        }
        Packet::PingResp => {
            o.u8(12);
        }
        Packet::Disconnect => {
            o.u8(13);
        }
    }
    o.0
}

/// Build the packet a spec describes and write its byte form.
#[cfg(test)]
pub(crate) fn write_spec_packet(spec: &Spec) -> Option<Vec<u8>> {
    let mut out = None;
    with_packet(spec, |p| out = Some(write(p)))?;
    out
}

fn pid(id: u16) -> Option<PacketId> {
    PacketId::new(id)
}

/// Build the packet and run the checks on it; `None` when the raw input names a value the types
/// refuse (a zero packet id, an invalid topic), which is no packet at all.
fn with_packet(spec: &Spec, check: impl FnOnce(&Packet<'_>)) -> Option<()> {
    match spec {
        Spec::Connect {
            clean_session,
            keep_alive,
            client_id,
            will,
            username,
            password,
        } => {
            let will = match will {
                Some((t, p, q, r)) => Some(Will {
                    topic: TopicName::new(t).ok()?,
                    payload: p,
                    qos: *q,
                    retain: *r,
                }),
                None => None,
            };
            check(&Packet::Connect(Connect {
                clean_session: *clean_session,
                keep_alive: *keep_alive,
                client_id,
                will,
                username: username.as_deref(),
                password: password.as_deref(),
            }));
        }
        Spec::ConnAck {
            session_present,
            code,
        } => check(&Packet::ConnAck(ConnAck {
            session_present: *session_present,
            code: ConnectReturnCode::from_u8(*code).ok()?,
        })),
        Spec::Publish {
            dup,
            qos,
            retain,
            packet_id,
            topic,
            payload,
        } => {
            let qos_pid = match qos {
                QoS::AtMostOnce => QosPid::AtMostOnce,
                QoS::AtLeastOnce => QosPid::AtLeastOnce(pid(*packet_id)?),
                QoS::ExactlyOnce => QosPid::ExactlyOnce(pid(*packet_id)?),
            };
            check(&Packet::Publish(Publish {
                dup: *dup,
                qos_pid,
                retain: *retain,
                topic: TopicName::new(topic).ok()?,
                payload,
            }));
        }
        Spec::PubAck(id) => check(&Packet::PubAck(pid(*id)?)),
        Spec::PubRec(id) => check(&Packet::PubRec(pid(*id)?)),
        Spec::PubRel(id) => check(&Packet::PubRel(pid(*id)?)),
        Spec::PubComp(id) => check(&Packet::PubComp(pid(*id)?)),
        Spec::Subscribe { packet_id, filters } => {
            let list = filters
                .iter()
                .map(|(f, q)| TopicFilter::new(f).ok().map(|f| (f, *q)))
                .collect::<Option<Vec<_>>>()?;
            check(&Packet::Subscribe(Subscribe {
                packet_id: pid(*packet_id)?,
                filters: SubscribeFilters::new(&list),
            }));
        }
        Spec::SubAck { packet_id, codes } => check(&Packet::SubAck(SubAck {
            packet_id: pid(*packet_id)?,
            codes: SubAckCodes::new(codes).ok()?,
        })),
        Spec::Unsubscribe { packet_id, filters } => {
            let list = filters
                .iter()
                .map(|f| TopicFilter::new(f).ok())
                .collect::<Option<Vec<_>>>()?;
            check(&Packet::Unsubscribe(Unsubscribe {
                packet_id: pid(*packet_id)?,
                filters: TopicFilters::new(&list),
            }));
        }
        Spec::UnsubAck(id) => check(&Packet::UnsubAck(pid(*id)?)),
        Spec::PingReq => check(&Packet::PingReq),
        Spec::PingResp => check(&Packet::PingResp),
        Spec::Disconnect => check(&Packet::Disconnect),
    }
    Some(())
}

const SENTINEL: u8 = 0xA5;

fn check_packet(packet: &Packet<'_>, raw: bool) {
    let len = packet.encoded_len();
    let mut buf = vec![SENTINEL; len + 16];
    let n = match packet.encode(&mut buf) {
        Ok(n) => n,
        Err(EncodeError::Invalid(e)) if raw => {
            assert!(buf.iter().all(|&b| b == SENTINEL), "a refused encode wrote");
            check_refused(packet, e);
            return;
        }
        Err(e) => panic!("a valid packet does not encode: {packet:?}: {e:?}"),
    };
    assert_eq!(n, len, "encoded_len of {packet:?}");
    assert!(
        buf.get(n..)
            .unwrap_or_default()
            .iter()
            .all(|&b| b == SENTINEL),
        "encode wrote past the packet"
    );
    let bytes = buf.get(..n).unwrap_or_default().to_vec();
    assert_eq!(
        packet.packet_type() as u8,
        bytes.first().map_or(0, |b| b >> 4)
    );

    // Too small: refused with the exact size, untouched.
    for short in [0, 1, n / 2, n - 1] {
        if short >= n {
            continue;
        }
        let mut small = vec![SENTINEL; short];
        assert_eq!(
            packet.encode(&mut small),
            Err(EncodeError::BufferTooSmall { required: n })
        );
        assert!(small.iter().all(|&b| b == SENTINEL));
    }

    // Decode it back, alone and followed by more bytes.
    let decoder = Decoder::new();
    assert_eq!(
        decoder.decode(&bytes),
        Ok(Some((*packet, n))),
        "{bytes:02X?}"
    );
    let mut more = bytes.clone();
    more.extend_from_slice(&[0xD0, 0x00, 0x30]);
    assert_eq!(decoder.decode(&more), Ok(Some((*packet, n))));
    match decoder.frame(&bytes) {
        Ok(Frame::Complete(h)) => {
            assert_eq!(h.total_len(), n);
            let body = bytes.get(h.header_len..).unwrap_or_default();
            assert_eq!(decoder.decode_body(&h, body), Ok(*packet));
        }
        other => panic!("frame of an encoded packet: {other:?}"),
    }
    assert_eq!(
        Packet::decode(&bytes).map(|p| p.map(|(p, _)| p.packet_id())),
        Ok(Some(packet.packet_id()))
    );

    // Every proper prefix is incomplete: sample them on long packets.
    let step = (n / 64).max(1);
    for k in (0..n).step_by(step).chain([n - 1]) {
        let prefix = bytes.get(..k).unwrap_or_default();
        assert_eq!(
            decoder.decode(prefix),
            Ok(None),
            "prefix of {k} of {n} bytes"
        );
        assert!(matches!(
            decoder.frame(prefix),
            Ok(Frame::Incomplete { .. })
        ));
    }

    let mut out = bytes::BytesMut::from(&b"xy"[..]);
    assert_eq!(packet.encode_to_bytes(&mut out), Ok(n));
    assert_eq!(out.get(2..), Some(&bytes[..]));
}

/// A raw packet the encoder refused breaks one of the rules that only the encoder checks.
fn check_refused(packet: &Packet<'_>, e: DecodeError) {
    let mut out = bytes::BytesMut::from(&b"xy"[..]);
    assert_eq!(
        packet.encode_to_bytes(&mut out),
        Err(EncodeError::Invalid(e))
    );
    assert_eq!(
        &out[..],
        b"xy",
        "a refused encode_to_bytes changed the buffer"
    );
}

/// Bit 6 of the first byte selects MQTT 5.0 (`roundtrip_v5.rs`); bit 7 is the raw mode in both.
pub const V5: u8 = 0x40;

/// The `roundtrip` target.
pub fn roundtrip(data: &[u8]) {
    if let Some((&tag, rest)) = data.split_first()
        && tag & V5 != 0
    {
        crate::roundtrip_v5::roundtrip_v5(&mut Unstructured::new(rest), tag);
        return;
    }
    let mut u = Unstructured::new(data);
    let Ok(input) = Input::arbitrary(&mut u) else {
        return;
    };
    let raw = input.raw;
    let built = with_packet(&input.spec, |p| check_packet(p, raw));
    assert!(
        raw || built.is_some(),
        "a fixed-up spec is not a packet: {input:?}"
    );
}
