//! PUBLISH (the hot path) and the four packet-identifier-only acknowledgements.
use crate::encode::{Writer, fixed_header};
use crate::{DecodeError, EncodeError, PacketId, Publish, QosPid, TopicName};

/// Decode a PUBLISH body. Only the topic and the packet identifier are looked at; the payload
/// is borrowed as it is.
#[inline]
pub(crate) fn decode_publish(flags: u8, body: &[u8]) -> Result<Publish<'_>, DecodeError> {
    let (len, rest) = body
        .split_first_chunk::<2>()
        .ok_or(DecodeError::MalformedLength)?;
    let (topic, rest) = rest
        .split_at_checked(usize::from(u16::from_be_bytes(*len)))
        .ok_or(DecodeError::MalformedLength)?;
    let (qos_pid, payload) = match (flags >> 1) & 0b11 {
        0 => (QosPid::AtMostOnce, rest),
        qos => {
            let (id, payload) = rest
                .split_first_chunk::<2>()
                .ok_or(DecodeError::MalformedLength)?;
            let id = PacketId::new(u16::from_be_bytes(*id)).ok_or(DecodeError::ZeroPacketId)?;
            let qos_pid = match qos {
                1 => QosPid::AtLeastOnce(id),
                2 => QosPid::ExactlyOnce(id),
                _ => return Err(DecodeError::InvalidQoS),
            };
            (qos_pid, payload)
        }
    };
    Ok(Publish {
        dup: flags & 0b1000 != 0,
        qos_pid,
        retain: flags & 0b0001 != 0,
        topic: TopicName::from_wire(topic)?,
        payload,
    })
}

impl<'a> Publish<'a> {
    /// A PUBLISH with DUP and RETAIN off.
    pub const fn new(topic: TopicName<'a>, qos_pid: QosPid, payload: &'a [u8]) -> Self {
        Publish {
            dup: false,
            qos_pid,
            retain: false,
            topic,
            payload,
        }
    }

    pub(crate) fn first_byte(&self) -> u8 {
        0x30 | (u8::from(self.dup) << 3) | (self.qos_pid.qos().as_u8() << 1) | u8::from(self.retain)
    }

    pub(crate) fn body_len(&self) -> usize {
        let id = match self.qos_pid {
            QosPid::AtMostOnce => 0,
            _ => 2,
        };
        2 + self.topic.as_str().len() + id + self.payload.len()
    }

    /// DUP must be 0 on QoS 0 [MQTT-3.3.1-2]; the topic is valid by type.
    pub(crate) fn validate(&self) -> Result<(), DecodeError> {
        if self.dup && self.qos_pid == QosPid::AtMostOnce {
            return Err(DecodeError::DupWithQoS0);
        }
        Ok(())
    }

    /// Encode the whole packet into the start of `buf` (the hot path of `Packet::encode`):
    /// sized once, then each field written in place with one bounds check. Nothing is written
    /// on error.
    #[inline]
    pub(crate) fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        self.validate()?;
        let topic = self.topic.as_str().as_bytes();
        let topic_len = u16::try_from(topic.len()).map_err(|_| DecodeError::StringTooLong)?;
        let (total, rest) = fixed_header(buf, self.first_byte(), self.body_len())?;
        let too_small = EncodeError::BufferTooSmall { required: total };
        let (l, rest) = rest.split_first_chunk_mut::<2>().ok_or(too_small)?;
        *l = topic_len.to_be_bytes();
        let (t, rest) = rest.split_at_mut_checked(topic.len()).ok_or(too_small)?;
        t.copy_from_slice(topic);
        let rest = match self.qos_pid.packet_id() {
            Some(id) => {
                let (i, rest) = rest.split_first_chunk_mut::<2>().ok_or(too_small)?;
                *i = id.get().to_be_bytes();
                rest
            }
            None => rest,
        };
        if rest.len() != self.payload.len() {
            return Err(too_small);
        }
        rest.copy_from_slice(self.payload);
        Ok(total)
    }

    pub(crate) fn write_body(&self, w: &mut Writer<'_>) {
        w.string(self.topic.as_str());
        if let Some(id) = self.qos_pid.packet_id() {
            w.u16(id.get());
        }
        w.bytes(self.payload);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Packet, QoS};

    #[test]
    fn publish_fields() {
        let body = [0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0A, 1, 2, 3];
        let p = decode_publish(0b1011, &body).unwrap();
        assert!(p.dup && p.retain);
        assert_eq!(p.qos_pid.qos(), QoS::AtLeastOnce);
        assert_eq!(p.qos_pid.packet_id().map(PacketId::get), Some(10));
        assert_eq!(p.topic.as_str(), "a/b");
        assert_eq!(p.payload, &[1, 2, 3]);
        assert_eq!(p.body_len(), body.len());
        let mut out = [0u8; 12];
        assert_eq!(Packet::Publish(p).encode(&mut out), Ok(12));
        assert_eq!(out[0], 0x3B);
        assert_eq!(out[1], 10);
        assert_eq!(&out[2..], &body);
    }

    #[test]
    fn publish_errors() {
        assert_eq!(
            decode_publish(0, &[0x00, 0x00]),
            Err(DecodeError::InvalidTopicName)
        );
        assert_eq!(
            decode_publish(0, &[0x00, 0x02, b'a']),
            Err(DecodeError::MalformedLength)
        );
        assert_eq!(
            decode_publish(0b0010, &[0x00, 0x01, b'a', 0, 0]),
            Err(DecodeError::ZeroPacketId)
        );
        assert_eq!(
            decode_publish(0, &[0x00, 0x01, b'#']),
            Err(DecodeError::InvalidTopicName)
        );
        assert_eq!(
            decode_publish(0, &[0x00, 0x01, 0]),
            Err(DecodeError::NullCharacter)
        );
    }
}
