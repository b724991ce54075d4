//! `mqttc sub -F FORMAT`: mosquitto_sub's output format specifiers.
//!
//! `%t` topic, `%p` payload, `%l` payload length, `%q` QoS, `%r` retain flag (0/1), `%m`
//! message id (0 for QoS 0), `%c` client id, `%x`/`%X` payload in lower/upper-case hex, `%j`
//! a JSON object, `%J` the same with a payload that is JSON embedded as JSON, `%I` the time as
//! ISO 8601 (UTC), `%U` the Unix time with nanoseconds, `%P` the MQTT 5.0 user properties as
//! `KEY:VALUE`, space-separated (none at 3.1.1), `%%` a percent sign; escapes `\n`, `\t`, `\r`, `\a`, `\e`, `\v`, `\0`, `\\`.
//! No newline is added after a message: put `\n` in the format.

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use mqtt_std::Message;

/// One piece of a parsed format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(Vec<u8>),
    Topic,
    Payload,
    Length,
    Qos,
    Retain,
    MessageId,
    ClientId,
    HexLower,
    HexUpper,
    Json,
    JsonPayload,
    Iso,
    Unix,
    Properties,
}

/// A parsed `-F` format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pieces: Vec<Piece>,
    /// `--pretty`: JSON over several lines.
    pretty: bool,
}

impl Format {
    /// Parses `format`; the error names what is not understood.
    pub fn parse(format: &str, pretty: bool) -> Result<Format, String> {
        let mut pieces = Vec::new();
        let mut text = Vec::new();
        let mut chars = format.chars();
        let push = |pieces: &mut Vec<Piece>, text: &mut Vec<u8>, p: Piece| {
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(text)));
            }
            pieces.push(p);
        };
        while let Some(c) = chars.next() {
            match c {
                '%' => {
                    let p = match chars.next() {
                        Some('%') => {
                            text.push(b'%');
                            continue;
                        }
                        Some('t') => Piece::Topic,
                        Some('p') => Piece::Payload,
                        Some('l') => Piece::Length,
                        Some('q') => Piece::Qos,
                        Some('r') => Piece::Retain,
                        Some('m') => Piece::MessageId,
                        Some('c') => Piece::ClientId,
                        Some('x') => Piece::HexLower,
                        Some('X') => Piece::HexUpper,
                        Some('j') => Piece::Json,
                        Some('J') => Piece::JsonPayload,
                        Some('I') => Piece::Iso,
                        Some('U') => Piece::Unix,
                        Some('P') => Piece::Properties,
                        Some(other) => return Err(format!("-F: unknown specifier %{other}")),
                        None => return Err("-F: a % at the end".to_owned()),
                    };
                    push(&mut pieces, &mut text, p);
                }
                '\\' => {
                    let b = match chars.next() {
                        Some('n') => b'\n',
                        Some('t') => b'\t',
                        Some('r') => b'\r',
                        Some('a') => 0x07,
                        Some('e') => 0x1b,
                        Some('v') => 0x0b,
                        Some('0') => 0,
                        Some('\\') => b'\\',
                        Some(other) => return Err(format!("-F: unknown escape \\{other}")),
                        None => return Err("-F: a \\ at the end".to_owned()),
                    };
                    text.push(b);
                }
                c => {
                    let mut buf = [0u8; 4];
                    text.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Format { pieces, pretty })
    }

    /// The output for one message, written to `out` piece by piece: the payload goes out
    /// from where it is, never copied into a buffer of its size (only `%j`/`%J` build their
    /// JSON text first).
    pub fn write(
        &self,
        out: &mut impl Write,
        m: &Message,
        client_id: &str,
        now: SystemTime,
    ) -> io::Result<()> {
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.write_all(t)?,
                Piece::Topic => out.write_all(m.topic.as_bytes())?,
                Piece::Payload => out.write_all(&m.payload)?,
                Piece::Length => write!(out, "{}", m.payload.len())?,
                Piece::Qos => write!(out, "{}", qos(m))?,
                Piece::Retain => out.write_all(if m.retain { b"1" } else { b"0" })?,
                Piece::MessageId => write!(out, "{}", mid(m))?,
                Piece::ClientId => out.write_all(client_id.as_bytes())?,
                Piece::HexLower => hex(out, &m.payload, b"0123456789abcdef")?,
                Piece::HexUpper => hex(out, &m.payload, b"0123456789ABCDEF")?,
                Piece::Json => out.write_all(self.json(m, now, false).as_bytes())?,
                Piece::JsonPayload => out.write_all(self.json(m, now, true).as_bytes())?,
                Piece::Iso => out.write_all(iso8601(now).as_bytes())?,
                Piece::Unix => {
                    let d = now.duration_since(UNIX_EPOCH).unwrap_or_default();
                    write!(out, "{}.{:09}", d.as_secs(), d.subsec_nanos())?;
                }
                // As mosquitto_sub: the user properties, KEY:VALUE, one space between (none
                // at 3.1.1).
                Piece::Properties => {
                    for (i, (k, v)) in m.properties.user_properties.iter().enumerate() {
                        if i > 0 {
                            out.write_all(b" ")?;
                        }
                        write!(out, "{k}:{v}")?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The output for one message as bytes.
    #[cfg(test)]
    pub fn render(&self, m: &Message, client_id: &str, now: SystemTime) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write(&mut out, m, client_id, now);
        out
    }

    fn json(&self, m: &Message, now: SystemTime, embed: bool) -> String {
        let mut o = serde_json::Map::new();
        o.insert("tst".into(), iso8601(now).into());
        o.insert("topic".into(), m.topic.clone().into());
        o.insert("qos".into(), qos(m).into());
        o.insert("retain".into(), u8::from(m.retain).into());
        o.insert("payloadlen".into(), m.payload.len().into());
        if m.qos != mqtt_std::QoS::AtMostOnce {
            o.insert("mid".into(), mid(m).into());
        }
        let embedded = embed
            .then(|| serde_json::from_slice::<serde_json::Value>(&m.payload).ok())
            .flatten();
        match (embedded, std::str::from_utf8(&m.payload)) {
            (Some(v), _) => {
                o.insert("payload".into(), v);
            }
            (None, Ok(text)) => {
                o.insert("payload".into(), text.into());
            }
            // Not text: lossless as hex, under its own name.
            (None, Err(_)) => {
                let mut h = Vec::new();
                // Writing into a Vec cannot fail.
                let _ = hex(&mut h, &m.payload, b"0123456789abcdef");
                o.insert(
                    "payload_hex".into(),
                    String::from_utf8_lossy(&h).into_owned().into(),
                );
            }
        }
        let v = serde_json::Value::Object(o);
        let text = if self.pretty {
            serde_json::to_string_pretty(&v)
        } else {
            serde_json::to_string(&v)
        };
        text.unwrap_or_default()
    }
}

fn qos(m: &Message) -> u8 {
    match m.qos {
        mqtt_std::QoS::AtMostOnce => 0,
        mqtt_std::QoS::AtLeastOnce => 1,
        mqtt_std::QoS::ExactlyOnce => 2,
    }
}

fn mid(m: &Message) -> u16 {
    m.packet_id.map_or(0, |p| p.0.get())
}

/// `data` in hex, through a small buffer.
fn hex(out: &mut impl Write, data: &[u8], digits: &[u8; 16]) -> io::Result<()> {
    let mut buf = [0u8; 1024];
    for chunk in data.chunks(buf.len() / 2) {
        for (pair, &b) in buf.chunks_exact_mut(2).zip(chunk) {
            pair[0] = digits[usize::from(b >> 4)];
            pair[1] = digits[usize::from(b & 15)];
        }
        out.write_all(&buf[..chunk.len() * 2])?;
    }
    Ok(())
}

/// `2026-12-02T16:31:05.123456Z`: UTC, microseconds.
pub fn iso8601(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, mo, da) = civil_from_days(days as i64);
    format!(
        "{y:04}-{mo:02}-{da:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    fn msg(payload: &[u8], qos: mqtt_std::QoS, retain: bool) -> Message {
        // A message as the client hands it out (the struct has public fields).
        let mut m = Message {
            topic: "sensors/7".into(),
            payload: payload.to_vec(),
            qos,
            retain,
            dup: false,
            packet_id: None,
            seq: None,
            properties: Default::default(),
        };
        if qos != mqtt_std::QoS::AtMostOnce {
            m.packet_id = mqtt_std::PacketId::new(42);
        }
        m
    }

    #[test]
    fn specifiers_and_escapes() {
        let t = UNIX_EPOCH + Duration::new(1_764_693_065, 123_456_789);
        let f = Format::parse(r"%t %p %l %q %r %m %c %x %X %U %I 100%%\t\n", false).unwrap();
        let out = f.render(&msg(b"Z\x0bi", mqtt_std::QoS::AtLeastOnce, true), "cid", t);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "sensors/7 Z\x0bi 3 1 1 42 cid 5a0b69 5A0B69 1764693065.123456789 \
             2025-12-02T16:31:05.123456Z 100%\t\n"
        );
        let f = Format::parse("%P|%m", false).unwrap();
        let out = f.render(&msg(b"", mqtt_std::QoS::AtMostOnce, false), "c", t);
        assert_eq!(out, b"|0");
        let mut m = msg(b"", mqtt_std::QoS::AtMostOnce, false);
        m.properties = mqtt_std::v5::PublishProperties::new()
            .user_property("a", "1")
            .user_property("b", "2");
        assert_eq!(f.render(&m, "c", t), b"a:1 b:2|0");
        for bad in ["%z", "%", r"\q", "x\\"] {
            assert!(Format::parse(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn json() {
        let t = UNIX_EPOCH;
        let f = Format::parse("%j", false).unwrap();
        let out = f.render(&msg(b"hello", mqtt_std::QoS::ExactlyOnce, false), "c", t);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"tst":"1970-01-01T00:00:00.000000Z","topic":"sensors/7","qos":2,"retain":0,"payloadlen":5,"mid":42,"payload":"hello"}"#
        );
        let f = Format::parse("%J", false).unwrap();
        let out = f.render(
            &msg(br#"{"t":21.5}"#, mqtt_std::QoS::AtMostOnce, true),
            "c",
            t,
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["payload"]["t"], 21.5);
        assert_eq!(v["retain"], 1);
        let out = f.render(
            &msg(&[0xff, 0x00], mqtt_std::QoS::AtMostOnce, false),
            "c",
            t,
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["payload_hex"], "ff00");
        let pretty = Format::parse("%j", true).unwrap();
        let out = pretty.render(&msg(b"x", mqtt_std::QoS::AtMostOnce, false), "c", t);
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("\n  \"topic\": \"sensors/7\"")
        );
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_424), (2025, 12, 2));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
