//! SUBSCRIBE, SUBACK and UNSUBSCRIBE (UNSUBACK is a bare packet identifier).
use crate::encode::{Writer, fixed_header};
use crate::read::Reader;
use crate::{
    DecodeError, EncodeError, PacketId, PacketType, QoS, SubAck, SubAckCodes, Subscribe,
    SubscribeFilters, TopicFilter, TopicFilters, Unsubscribe,
};

/// Decode a SUBSCRIBE body: a packet identifier and at least one (filter, QoS) pair
/// [MQTT-3.8.3-3]. Every filter is validated now, so iterating the result later cannot fail.
pub(crate) fn decode_subscribe<'a>(r: &mut Reader<'a>) -> Result<Subscribe<'a>, DecodeError> {
    let packet_id = r.packet_id()?;
    let payload = r.rest();
    if r.is_empty() {
        return Err(DecodeError::EmptySubscribe);
    }
    while !r.is_empty() {
        TopicFilter::from_wire(r.binary()?)?;
        let qos = r.u8()?;
        if qos & 0xFC != 0 {
            return Err(DecodeError::SubscribeReservedBits);
        }
        QoS::from_u8(qos)?;
    }
    Ok(Subscribe {
        packet_id,
        filters: SubscribeFilters::from_wire(payload),
    })
}

/// Decode an UNSUBSCRIBE body: a packet identifier and at least one filter [MQTT-3.10.3-2].
pub(crate) fn decode_unsubscribe<'a>(r: &mut Reader<'a>) -> Result<Unsubscribe<'a>, DecodeError> {
    let packet_id = r.packet_id()?;
    let payload = r.rest();
    if r.is_empty() {
        return Err(DecodeError::EmptyUnsubscribe);
    }
    while !r.is_empty() {
        TopicFilter::from_wire(r.binary()?)?;
    }
    Ok(Unsubscribe {
        packet_id,
        filters: TopicFilters::from_wire(payload),
    })
}

/// Decode a SUBACK body: a packet identifier and at least one valid return code
/// [MQTT-3.9.3-2].
pub(crate) fn decode_suback<'a>(r: &mut Reader<'a>) -> Result<SubAck<'a>, DecodeError> {
    let packet_id = r.packet_id()?;
    let codes = SubAckCodes::new(r.rest())?;
    r.take(codes.len())?;
    Ok(SubAck { packet_id, codes })
}

impl<'a> Subscribe<'a> {
    /// A SUBSCRIBE of `filters` (which must not be empty to be encoded).
    pub const fn new(packet_id: PacketId, filters: &'a [(TopicFilter<'a>, QoS)]) -> Self {
        Subscribe {
            packet_id,
            filters: SubscribeFilters::new(filters),
        }
    }

    pub(crate) fn body_len(&self) -> usize {
        2 + self.filters.encoded_len()
    }

    pub(crate) fn validate(&self) -> Result<(), DecodeError> {
        if self.filters.is_empty() {
            return Err(DecodeError::EmptySubscribe);
        }
        Ok(())
    }

    pub(crate) fn write_body(&self, w: &mut Writer<'_>) {
        w.u16(self.packet_id.get());
        for (filter, qos) in self.filters.iter() {
            w.string(filter.as_str());
            w.u8(qos.as_u8());
        }
    }
}

impl<'a> Unsubscribe<'a> {
    /// An UNSUBSCRIBE of `filters` (which must not be empty to be encoded).
    pub const fn new(packet_id: PacketId, filters: &'a [TopicFilter<'a>]) -> Self {
        Unsubscribe {
            packet_id,
            filters: TopicFilters::new(filters),
        }
    }

    pub(crate) fn body_len(&self) -> usize {
        2 + self.filters.encoded_len()
    }

    pub(crate) fn validate(&self) -> Result<(), DecodeError> {
        if self.filters.is_empty() {
            return Err(DecodeError::EmptyUnsubscribe);
        }
        Ok(())
    }

    pub(crate) fn write_body(&self, w: &mut Writer<'_>) {
        w.u16(self.packet_id.get());
        for filter in self.filters.iter() {
            w.string(filter.as_str());
        }
    }
}

impl<'a> SubAck<'a> {
    /// A SUBACK with `codes`.
    pub const fn new(packet_id: PacketId, codes: SubAckCodes<'a>) -> Self {
        SubAck { packet_id, codes }
    }

    pub(crate) fn body_len(&self) -> usize {
        2 + self.codes.len()
    }

    pub(crate) fn validate(&self) -> Result<(), DecodeError> {
        SubAckCodes::new(self.codes.as_bytes()).map(|_| ())
    }

    pub(crate) fn write_body(&self, w: &mut Writer<'_>) {
        w.u16(self.packet_id.get());
        w.bytes(self.codes.as_bytes());
    }

    /// Encode the whole packet into the start of `buf` (a path of `Packet::encode`): sized
    /// once, then written in place. Nothing is written on error.
    #[inline]
    pub(crate) fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        self.validate()?;
        let codes = self.codes.as_bytes();
        let first = (PacketType::SubAck as u8) << 4;
        let (total, rest) = fixed_header(buf, first, self.body_len())?;
        let too_small = EncodeError::BufferTooSmall { required: total };
        let (id, rest) = rest.split_first_chunk_mut::<2>().ok_or(too_small)?;
        *id = self.packet_id.get().to_be_bytes();
        if rest.len() != codes.len() {
            return Err(too_small);
        }
        rest.copy_from_slice(codes);
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::SubAckReturnCode;

    #[test]
    fn subscribe_payload_rules() {
        let d = |b: &[u8]| decode_subscribe(&mut Reader::new(b)).map(|s| s.filters.len());
        assert_eq!(d(&[0, 1, 0, 1, b'a', 1, 0, 3, b'b', b'/', b'#', 2]), Ok(2));
        assert_eq!(d(&[0, 1]), Err(DecodeError::EmptySubscribe));
        assert_eq!(d(&[0, 0, 0, 1, b'a', 1]), Err(DecodeError::ZeroPacketId));
        assert_eq!(d(&[0, 1, 0, 1, b'a', 3]), Err(DecodeError::InvalidQoS));
        assert_eq!(
            d(&[0, 1, 0, 1, b'a', 0x41]),
            Err(DecodeError::SubscribeReservedBits)
        );
        assert_eq!(
            d(&[0, 1, 0, 2, b'a', b'#', 0]),
            Err(DecodeError::InvalidTopicFilter)
        );
        assert_eq!(d(&[0, 1, 0, 0, 0]), Err(DecodeError::InvalidTopicFilter));
        assert_eq!(d(&[0, 1, 0, 1, b'a']), Err(DecodeError::MalformedLength));
    }

    #[test]
    fn decoded_and_built_lists_compare_equal() {
        let wire = [0, 9, 0, 1, b'a', 1, 0, 3, b'b', b'/', b'+', 2];
        let s = decode_subscribe(&mut Reader::new(&wire)).unwrap();
        let list = [
            (TopicFilter::new("a").unwrap(), QoS::AtLeastOnce),
            (TopicFilter::new("b/+").unwrap(), QoS::ExactlyOnce),
        ];
        assert_eq!(s, Subscribe::new(PacketId::new(9).unwrap(), &list));
        let wire = [0, 9, 0, 1, b'a', 0, 3, b'b', b'/', b'+'];
        let u = decode_unsubscribe(&mut Reader::new(&wire)).unwrap();
        let list = [list[0].0, list[1].0];
        assert_eq!(u, Unsubscribe::new(PacketId::new(9).unwrap(), &list));
        assert_eq!(u.filters.len(), 2);
    }

    #[test]
    fn suback_codes() {
        let s = decode_suback(&mut Reader::new(&[0, 2, 0, 1, 2, 0x80])).unwrap();
        let codes: [SubAckReturnCode; 4] = [
            SubAckReturnCode::Success(QoS::AtMostOnce),
            SubAckReturnCode::Success(QoS::AtLeastOnce),
            SubAckReturnCode::Success(QoS::ExactlyOnce),
            SubAckReturnCode::Failure,
        ];
        assert!(s.codes.iter().eq(codes));
        assert_eq!(
            decode_suback(&mut Reader::new(&[0, 2, 3])),
            Err(DecodeError::InvalidSubAckCode)
        );
        assert_eq!(
            decode_suback(&mut Reader::new(&[0, 2])),
            Err(DecodeError::InvalidSubAckCode)
        );
    }
}
