//! MQTT bytes written by hand, independently of `mqtt-proto`'s encoder (so a test of the
//! client's bytes never trusts the code under test to say what they should be), a splitter of a
//! byte stream into packets by their fixed header alone, and one-line packet descriptions for
//! transcripts.

use std::fmt::Write as _;

use mqtt_proto::{Decoder, Packet};

/// The remaining-length bytes for `len` (section 2.2.3): 7 bits a byte, low bits first.
pub fn remaining_length(mut len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            return out;
        }
    }
}

/// A packet: first byte, remaining length, body.
pub fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    out.extend(remaining_length(body.len()));
    out.extend_from_slice(body);
    out
}

/// A length-prefixed string or binary field (section 1.5.3). Panics above 65,535 bytes.
pub fn string(s: impl AsRef<[u8]>) -> Vec<u8> {
    let s = s.as_ref();
    let len = u16::try_from(s.len()).expect("a test string fits 65,535 bytes");
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(s);
    out
}

/// CONNACK with the given acknowledge-flags byte and return code byte.
pub fn connack(flags: u8, code: u8) -> Vec<u8> {
    vec![0x20, 0x02, flags, code]
}

/// A PUBLISH from the broker. `qos` 0 takes no packet id (pass 0).
pub fn publish(topic: &str, payload: &[u8], qos: u8, id: u16, dup: bool, retain: bool) -> Vec<u8> {
    let first = 0x30 | (u8::from(dup) << 3) | (qos << 1) | u8::from(retain);
    let mut body = string(topic);
    if qos > 0 {
        body.extend(id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    packet(first, &body)
}

/// A four-byte acknowledgement: `first` (0x40 PUBACK, 0x50 PUBREC, 0x62 PUBREL, 0x70 PUBCOMP,
/// 0xB0 UNSUBACK) and the packet id.
pub fn ack(first: u8, id: u16) -> Vec<u8> {
    let [hi, lo] = id.to_be_bytes();
    vec![first, 0x02, hi, lo]
}

/// PUBACK for `id`.
pub fn puback(id: u16) -> Vec<u8> {
    ack(0x40, id)
}
/// PUBREC for `id`.
pub fn pubrec(id: u16) -> Vec<u8> {
    ack(0x50, id)
}
/// PUBREL for `id` (flags 0010).
pub fn pubrel(id: u16) -> Vec<u8> {
    ack(0x62, id)
}
/// PUBCOMP for `id`.
pub fn pubcomp(id: u16) -> Vec<u8> {
    ack(0x70, id)
}
/// UNSUBACK for `id`.
pub fn unsuback(id: u16) -> Vec<u8> {
    ack(0xB0, id)
}

/// SUBACK for `id` with these return code bytes.
pub fn suback(id: u16, codes: &[u8]) -> Vec<u8> {
    let mut body = id.to_be_bytes().to_vec();
    body.extend_from_slice(codes);
    packet(0x90, &body)
}

/// PINGRESP.
pub fn pingresp() -> Vec<u8> {
    vec![0xD0, 0x00]
}

/// Splits a byte stream into packets by reading only each fixed header (first byte and
/// remaining length), so it works on packets the decoder would refuse. Returns the whole packets
/// and the number of bytes left over (an incomplete packet at the end).
pub fn split(mut bytes: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut out = Vec::new();
    loop {
        let Some(total) = frame_len(bytes) else {
            return (out, bytes.len());
        };
        let Some((one, rest)) = bytes.split_at_checked(total) else {
            return (out, bytes.len());
        };
        out.push(one.to_vec());
        bytes = rest;
    }
}

/// Length of the whole packet at the start of `bytes` when its fixed header is complete.
pub fn frame_len(bytes: &[u8]) -> Option<usize> {
    let mut len = 0usize;
    for i in 0..4 {
        let b = *bytes.get(1 + i)?;
        len |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Some(2 + i + len);
        }
    }
    // A fifth length byte: report the bytes seen as one (malformed) packet.
    Some(bytes.len().min(5))
}

/// Bytes as lowercase hex pairs separated by spaces.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("0x[{}]", hex(b)),
    }
}

/// One line describing a packet's bytes, decoded with `mqtt-proto` (or the decode error).
pub fn describe(bytes: &[u8]) -> String {
    match Decoder::new().decode(bytes) {
        Ok(Some((p, used))) if used == bytes.len() => describe_packet(&p),
        Ok(Some((p, used))) => format!(
            "{} (+{} trailing bytes)",
            describe_packet(&p),
            bytes.len() - used
        ),
        Ok(None) => "(incomplete)".to_owned(),
        Err(e) => format!("(malformed: {e})"),
    }
}

/// One line describing a decoded packet.
pub fn describe_packet(p: &Packet<'_>) -> String {
    match p {
        Packet::Connect(c) => {
            let mut s = format!(
                "CONNECT client_id={:?} clean_session={} keep_alive={}",
                c.client_id,
                u8::from(c.clean_session),
                c.keep_alive
            );
            if let Some(w) = &c.will {
                let _ = write!(
                    s,
                    " will(topic={:?} payload={} qos={} retain={})",
                    w.topic.as_str(),
                    text(w.payload),
                    w.qos.as_u8(),
                    u8::from(w.retain)
                );
            }
            if let Some(u) = c.username {
                let _ = write!(s, " username={u:?}");
            }
            if let Some(pw) = c.password {
                let _ = write!(s, " password={}", text(pw));
            }
            s
        }
        Packet::ConnAck(c) => format!(
            "CONNACK session_present={} code={}",
            u8::from(c.session_present),
            c.code.as_u8()
        ),
        Packet::Publish(p) => {
            let id = p
                .qos_pid
                .packet_id()
                .map(|id| format!(" id={}", id.get()))
                .unwrap_or_default();
            format!(
                "PUBLISH qos={}{id} dup={} retain={} topic={:?} payload={}",
                p.qos_pid.qos().as_u8(),
                u8::from(p.dup),
                u8::from(p.retain),
                p.topic.as_str(),
                text(p.payload)
            )
        }
        Packet::PubAck(id) => format!("PUBACK id={}", id.get()),
        Packet::PubRec(id) => format!("PUBREC id={}", id.get()),
        Packet::PubRel(id) => format!("PUBREL id={}", id.get()),
        Packet::PubComp(id) => format!("PUBCOMP id={}", id.get()),
        Packet::Subscribe(s) => {
            let mut out = format!("SUBSCRIBE id={}", s.packet_id.get());
            for (f, q) in s.filters.iter() {
                let _ = write!(out, " {:?}@{}", f.as_str(), q.as_u8());
            }
            out
        }
        Packet::SubAck(s) => format!(
            "SUBACK id={} codes=[{}]",
            s.packet_id.get(),
            hex(s.codes.as_bytes())
        ),
        Packet::Unsubscribe(u) => {
            let mut out = format!("UNSUBSCRIBE id={}", u.packet_id.get());
            for f in u.filters.iter() {
                let _ = write!(out, " {:?}", f.as_str());
            }
            out
        }
        Packet::UnsubAck(id) => format!("UNSUBACK id={}", id.get()),
        Packet::PingReq => "PINGREQ".to_owned(),
        Packet::PingResp => "PINGRESP".to_owned(),
        Packet::Disconnect => "DISCONNECT".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_length_examples_of_table_2_4() {
        assert_eq!(remaining_length(0), [0x00]);
        assert_eq!(remaining_length(127), [0x7F]);
        assert_eq!(remaining_length(128), [0x80, 0x01]);
        assert_eq!(remaining_length(16_383), [0xFF, 0x7F]);
        assert_eq!(remaining_length(16_384), [0x80, 0x80, 0x01]);
        assert_eq!(remaining_length(268_435_455), [0xFF, 0xFF, 0xFF, 0x7F]);
    }

    #[test]
    fn split_by_fixed_header() {
        let mut stream = puback(1);
        stream.extend(pingresp());
        stream.extend([0x30, 0x05, 0x00]);
        let (packets, rest) = split(&stream);
        assert_eq!(packets, [puback(1), pingresp()]);
        assert_eq!(rest, 3);
    }
}
