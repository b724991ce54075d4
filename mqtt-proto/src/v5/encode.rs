//! Encoding of MQTT 5.0 packets: validate and size first, then write into a caller buffer.
//! Nothing is written unless the whole packet is valid and fits.
use super::decode::{
    FLAG_CLEAN_START, FLAG_PASSWORD, FLAG_USERNAME, FLAG_WILL, FLAG_WILL_RETAIN, PROTOCOL_VERSION,
};
use super::packet::{Connect, Packet, PacketType, PubResponse, check_subscription};
use super::properties::{Properties, PropertyContext};
use super::reason::{ReasonCode, ReasonCodes};
use crate::encode::{Writer, remaining_length_len};
use crate::topic::{MAX_STRING_LEN, check_encode_str};
use crate::{DecodeError, EncodeError, MAX_REMAINING_LENGTH, PacketId, QosPid};

const PROTOCOL_NAME: &[u8] = b"MQTT";

/// Bytes of a reason code and properties that may both be left out: nothing when the code is
/// 0x00 and there are no properties, the code alone when there are none, else both.
fn tail_len(code: u8, props: &Properties<'_>) -> usize {
    match (code, props.is_empty()) {
        (0, true) => 0,
        (_, true) => 1,
        (_, false) => 1 + props.encoded_len(),
    }
}

fn write_tail(w: &mut Writer<'_>, code: u8, props: &Properties<'_>) {
    match (code, props.is_empty()) {
        (0, true) => {}
        (_, true) => w.u8(code),
        (_, false) => {
            w.u8(code);
            props.write(w);
        }
    }
}

impl<R: ReasonCode> PubResponse<'_, R> {
    fn body_len(&self) -> usize {
        2 + tail_len(self.reason_code.to_byte(), &self.properties)
    }

    fn write_body(&self, w: &mut Writer<'_>) {
        w.u16(self.packet_id.get());
        write_tail(w, self.reason_code.to_byte(), &self.properties);
    }
}

fn check_codes<R: ReasonCode>(codes: &ReasonCodes<'_, R>) -> Result<(), DecodeError> {
    ReasonCodes::<R>::new(codes.as_bytes()).map(drop)
}

impl Connect<'_> {
    fn body_len(&self) -> usize {
        let mut len = 2 + PROTOCOL_NAME.len() + 1 + 1 + 2;
        len += self.properties.encoded_len() + 2 + self.client_id.len();
        if let Some(will) = &self.will {
            len += will.properties.encoded_len();
            len += 2 + will.topic.as_str().len() + 2 + will.payload.len();
        }
        if let Some(u) = self.username {
            len += 2 + u.len();
        }
        if let Some(p) = self.password {
            len += 2 + p.len();
        }
        len
    }

    fn validate(&self) -> Result<(), DecodeError> {
        self.properties.validate(PropertyContext::Connect)?;
        check_encode_str(self.client_id)?;
        if let Some(will) = &self.will {
            will.properties.validate(PropertyContext::Will)?;
            if will.payload.len() > MAX_STRING_LEN {
                return Err(DecodeError::StringTooLong);
            }
        }
        if let Some(u) = self.username {
            check_encode_str(u)?;
        }
        if let Some(p) = self.password {
            if p.len() > MAX_STRING_LEN {
                return Err(DecodeError::StringTooLong);
            }
        }
        Ok(())
    }

    fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.clean_start {
            flags |= FLAG_CLEAN_START;
        }
        if let Some(will) = &self.will {
            flags |= FLAG_WILL | (will.qos.as_u8() << 3);
            if will.retain {
                flags |= FLAG_WILL_RETAIN;
            }
        }
        if self.username.is_some() {
            flags |= FLAG_USERNAME;
        }
        if self.password.is_some() {
            flags |= FLAG_PASSWORD;
        }
        flags
    }

    fn write_body(&self, w: &mut Writer<'_>) {
        w.binary(PROTOCOL_NAME);
        w.u8(PROTOCOL_VERSION);
        w.u8(self.flags());
        w.u16(self.keep_alive);
        self.properties.write(w);
        w.string(self.client_id);
        if let Some(will) = &self.will {
            will.properties.write(w);
            w.string(will.topic.as_str());
            w.binary(will.payload);
        }
        if let Some(u) = self.username {
            w.string(u);
        }
        if let Some(p) = self.password {
            w.binary(p);
        }
    }
}

impl Packet<'_> {
    /// The packet's type.
    pub const fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
        }
    }

    /// The packet identifier, for the packet types that carry one.
    pub const fn packet_id(&self) -> Option<PacketId> {
        match self {
            Packet::Publish(p) => p.qos_pid.packet_id(),
            Packet::PubAck(p) => Some(p.packet_id),
            Packet::PubRec(p) => Some(p.packet_id),
            Packet::PubRel(p) => Some(p.packet_id),
            Packet::PubComp(p) => Some(p.packet_id),
            Packet::Subscribe(s) => Some(s.packet_id),
            Packet::SubAck(s) => Some(s.packet_id),
            Packet::Unsubscribe(u) => Some(u.packet_id),
            Packet::UnsubAck(u) => Some(u.packet_id),
            Packet::Connect(_)
            | Packet::ConnAck(_)
            | Packet::PingReq
            | Packet::PingResp
            | Packet::Disconnect(_)
            | Packet::Auth(_) => None,
        }
    }

    fn first_byte(&self) -> u8 {
        match self {
            Packet::Publish(p) => {
                0x30 | (u8::from(p.dup) << 3) | (p.qos_pid.qos().as_u8() << 1) | u8::from(p.retain)
            }
            _ => {
                let ty = self.packet_type();
                (ty as u8) << 4 | ty.fixed_flags()
            }
        }
    }

    /// The remaining length: bytes after the fixed header.
    fn body_len(&self) -> usize {
        match self {
            Packet::Connect(c) => c.body_len(),
            Packet::ConnAck(c) => 2 + c.properties.encoded_len(),
            Packet::Publish(p) => {
                let id = match p.qos_pid {
                    QosPid::AtMostOnce => 0,
                    _ => 2,
                };
                2 + p.topic_str().len() + id + p.properties.encoded_len() + p.payload.len()
            }
            Packet::PubAck(p) => p.body_len(),
            Packet::PubRec(p) => p.body_len(),
            Packet::PubRel(p) => p.body_len(),
            Packet::PubComp(p) => p.body_len(),
            Packet::Subscribe(s) => 2 + s.properties.encoded_len() + s.filters.encoded_len(),
            Packet::SubAck(s) => 2 + s.properties.encoded_len() + s.reason_codes.len(),
            Packet::Unsubscribe(u) => 2 + u.properties.encoded_len() + u.filters.encoded_len(),
            Packet::UnsubAck(u) => 2 + u.properties.encoded_len() + u.reason_codes.len(),
            Packet::PingReq | Packet::PingResp => 0,
            Packet::Disconnect(d) => tail_len(d.reason_code.as_u8(), &d.properties),
            Packet::Auth(a) => tail_len(a.reason_code.as_u8(), &a.properties),
        }
    }

    /// Check what the types cannot express, and the size. Returns the remaining length.
    fn validate(&self) -> Result<usize, DecodeError> {
        match self {
            Packet::Connect(c) => c.validate()?,
            Packet::ConnAck(c) => {
                if c.session_present && c.reason_code.as_u8() != 0 {
                    return Err(DecodeError::ConnAckSessionPresentWithError);
                }
                c.properties.validate(PropertyContext::ConnAck)?;
            }
            Packet::Publish(p) => {
                if p.dup && p.qos_pid == QosPid::AtMostOnce {
                    return Err(DecodeError::DupWithQoS0);
                }
                p.properties.validate(PropertyContext::Publish)?;
                p.check_topic()?;
            }
            Packet::PubAck(p) => {
                p.properties.validate(PropertyContext::PubAck)?;
            }
            Packet::PubRec(p) => {
                p.properties.validate(PropertyContext::PubRec)?;
            }
            Packet::PubRel(p) => {
                p.properties.validate(PropertyContext::PubRel)?;
            }
            Packet::PubComp(p) => {
                p.properties.validate(PropertyContext::PubComp)?;
            }
            Packet::Subscribe(s) => {
                s.properties.validate(PropertyContext::Subscribe)?;
                if s.filters.is_empty() {
                    return Err(DecodeError::EmptySubscribe);
                }
                for (filter, options) in s.filters.iter() {
                    check_subscription(filter, options)?;
                }
            }
            Packet::SubAck(s) => {
                s.properties.validate(PropertyContext::SubAck)?;
                check_codes(&s.reason_codes)?;
            }
            Packet::Unsubscribe(u) => {
                u.properties.validate(PropertyContext::Unsubscribe)?;
                if u.filters.is_empty() {
                    return Err(DecodeError::EmptyUnsubscribe);
                }
            }
            Packet::UnsubAck(u) => {
                u.properties.validate(PropertyContext::UnsubAck)?;
                check_codes(&u.reason_codes)?;
            }
            Packet::PingReq | Packet::PingResp => {}
            Packet::Disconnect(d) => {
                d.properties.validate(PropertyContext::Disconnect)?;
            }
            Packet::Auth(a) => {
                a.properties.validate(PropertyContext::Auth)?;
            }
        }
        let body = self.body_len();
        if body > MAX_REMAINING_LENGTH as usize {
            return Err(DecodeError::PacketTooLarge);
        }
        Ok(body)
    }

    /// Bytes the encoded packet takes (fixed header included). Meaningful for packets that
    /// [`Packet::encode`] accepts.
    pub fn encoded_len(&self) -> usize {
        let body = self.body_len();
        1 + remaining_length_len(body) + body
    }

    /// Encode into the start of `buf` and return the bytes written.
    ///
    /// Nothing is written on error: [`EncodeError::Invalid`] when the packet breaks a rule the
    /// types cannot express (a property not allowed in this packet or repeated, a Topic Alias
    /// of 0, a string over 65,535 bytes or with U+0000, DUP on QoS 0, an empty filter list,
    /// No Local on a shared subscription, ...), and [`EncodeError::BufferTooSmall`] with the
    /// whole size when `buf` is too short.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let body = self.validate()?;
        let total = 1 + remaining_length_len(body) + body;
        let Some(out) = buf.get_mut(..total) else {
            return Err(EncodeError::BufferTooSmall { required: total });
        };
        let mut w = Writer::new(out);
        w.u8(self.first_byte());
        w.remaining_length(body);
        self.write_body(&mut w);
        Ok(total)
    }

    fn write_body(&self, w: &mut Writer<'_>) {
        match self {
            Packet::Connect(c) => c.write_body(w),
            Packet::ConnAck(c) => {
                w.u8(u8::from(c.session_present));
                w.u8(c.reason_code.as_u8());
                c.properties.write(w);
            }
            Packet::Publish(p) => {
                w.string(p.topic_str());
                if let Some(id) = p.qos_pid.packet_id() {
                    w.u16(id.get());
                }
                p.properties.write(w);
                w.bytes(p.payload);
            }
            Packet::PubAck(p) => p.write_body(w),
            Packet::PubRec(p) => p.write_body(w),
            Packet::PubRel(p) => p.write_body(w),
            Packet::PubComp(p) => p.write_body(w),
            Packet::Subscribe(s) => {
                w.u16(s.packet_id.get());
                s.properties.write(w);
                for (filter, options) in s.filters.iter() {
                    w.string(filter.as_str());
                    w.u8(options.as_u8());
                }
            }
            Packet::SubAck(s) => {
                w.u16(s.packet_id.get());
                s.properties.write(w);
                w.bytes(s.reason_codes.as_bytes());
            }
            Packet::Unsubscribe(u) => {
                w.u16(u.packet_id.get());
                u.properties.write(w);
                for filter in u.filters.iter() {
                    w.string(filter.as_str());
                }
            }
            Packet::UnsubAck(u) => {
                w.u16(u.packet_id.get());
                u.properties.write(w);
                w.bytes(u.reason_codes.as_bytes());
            }
            Packet::PingReq | Packet::PingResp => {}
            Packet::Disconnect(d) => write_tail(w, d.reason_code.as_u8(), &d.properties),
            Packet::Auth(a) => write_tail(w, a.reason_code.as_u8(), &a.properties),
        }
    }

    /// Append the encoded packet to `buf` (growing it as needed) and return the bytes written.
    /// On error `buf` is left as it was.
    #[cfg(feature = "bytes")]
    pub fn encode_to_bytes(&self, buf: &mut bytes::BytesMut) -> Result<usize, EncodeError> {
        let body = self.validate()?;
        let total = 1 + remaining_length_len(body) + body;
        let start = buf.len();
        buf.resize(start + total, 0);
        match buf.get_mut(start..).map(|out| self.encode(out)) {
            Some(Ok(n)) => Ok(n),
            Some(Err(e)) => {
                buf.truncate(start);
                Err(e)
            }
            None => {
                buf.truncate(start);
                Err(EncodeError::BufferTooSmall { required: total })
            }
        }
    }
}
