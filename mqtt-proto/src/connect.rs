//! CONNECT and CONNACK.
use crate::encode::Writer;
use crate::read::Reader;
use crate::topic::{MAX_STRING_LEN, check_encode_str};
use crate::{ConnAck, Connect, ConnectReturnCode, DecodeError, QoS, TopicName, Will};

const PROTOCOL_NAME: &[u8] = b"MQTT";
const PROTOCOL_LEVEL: u8 = 4;

const FLAG_RESERVED: u8 = 0b0000_0001;
const FLAG_CLEAN_SESSION: u8 = 0b0000_0010;
const FLAG_WILL: u8 = 0b0000_0100;
const FLAG_WILL_RETAIN: u8 = 0b0010_0000;
const FLAG_PASSWORD: u8 = 0b0100_0000;
const FLAG_USERNAME: u8 = 0b1000_0000;

/// Decode a CONNECT body (section 3.1).
pub(crate) fn decode_connect<'a>(r: &mut Reader<'a>) -> Result<Connect<'a>, DecodeError> {
    if r.binary()? != PROTOCOL_NAME {
        return Err(DecodeError::InvalidProtocolName);
    }
    if r.u8()? != PROTOCOL_LEVEL {
        return Err(DecodeError::UnsupportedProtocolLevel);
    }
    let flags = r.u8()?;
    if flags & FLAG_RESERVED != 0 {
        return Err(DecodeError::ConnectReservedFlag);
    }
    let will_flag = flags & FLAG_WILL != 0;
    let will_qos = (flags >> 3) & 0b11;
    let will_retain = flags & FLAG_WILL_RETAIN != 0;
    if !will_flag && (will_qos != 0 || will_retain) {
        return Err(DecodeError::InvalidWillFlags);
    }
    let will_qos = QoS::from_u8(will_qos).map_err(|_| DecodeError::InvalidWillFlags)?;
    let has_username = flags & FLAG_USERNAME != 0;
    let has_password = flags & FLAG_PASSWORD != 0;
    if has_password && !has_username {
        return Err(DecodeError::PasswordWithoutUsername);
    }
    let keep_alive = r.u16()?;
    let client_id = r.string()?;
    let will = if will_flag {
        let topic = TopicName::from_wire(r.binary()?)?;
        let payload = r.binary()?;
        Some(Will {
            topic,
            payload,
            qos: will_qos,
            retain: will_retain,
        })
    } else {
        None
    };
    let username = if has_username {
        Some(r.string()?)
    } else {
        None
    };
    let password = if has_password {
        Some(r.binary()?)
    } else {
        None
    };
    Ok(Connect {
        clean_session: flags & FLAG_CLEAN_SESSION != 0,
        keep_alive,
        client_id,
        will,
        username,
        password,
    })
}

/// Decode a CONNACK body (section 3.2); its size (2) was checked with the header.
pub(crate) fn decode_connack(r: &mut Reader<'_>) -> Result<ConnAck, DecodeError> {
    let flags = r.u8()?;
    if flags & 0xFE != 0 {
        return Err(DecodeError::ConnAckReservedBits);
    }
    let code = ConnectReturnCode::from_u8(r.u8()?)?;
    let session_present = flags & 1 != 0;
    if session_present && code != ConnectReturnCode::Accepted {
        return Err(DecodeError::ConnAckSessionPresentWithError);
    }
    Ok(ConnAck {
        session_present,
        code,
    })
}

impl<'a> Connect<'a> {
    /// A CONNECT with clean session on, no will, no credentials.
    pub const fn new(client_id: &'a str, keep_alive: u16) -> Self {
        Connect {
            clean_session: true,
            keep_alive,
            client_id,
            will: None,
            username: None,
            password: None,
        }
    }

    pub(crate) fn body_len(&self) -> usize {
        let mut len = 2 + PROTOCOL_NAME.len() + 1 + 1 + 2 + 2 + self.client_id.len();
        if let Some(will) = &self.will {
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

    pub(crate) fn validate(&self) -> Result<(), DecodeError> {
        check_encode_str(self.client_id)?;
        if self.client_id.is_empty() && !self.clean_session {
            return Err(DecodeError::EmptyClientIdWithoutCleanSession);
        }
        if let Some(will) = &self.will {
            if will.payload.len() > MAX_STRING_LEN {
                return Err(DecodeError::StringTooLong);
            }
        }
        if let Some(u) = self.username {
            check_encode_str(u)?;
        }
        if let Some(p) = self.password {
            if self.username.is_none() {
                return Err(DecodeError::PasswordWithoutUsername);
            }
            if p.len() > MAX_STRING_LEN {
                return Err(DecodeError::StringTooLong);
            }
        }
        Ok(())
    }

    fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.clean_session {
            flags |= FLAG_CLEAN_SESSION;
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

    pub(crate) fn write_body(&self, w: &mut Writer<'_>) {
        w.binary(PROTOCOL_NAME);
        w.u8(PROTOCOL_LEVEL);
        w.u8(self.flags());
        w.u16(self.keep_alive);
        w.string(self.client_id);
        if let Some(will) = &self.will {
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

impl ConnAck {
    /// Session present may only be set with return code 0 [MQTT-3.2.2-4].
    pub(crate) fn validate(&self) -> Result<(), DecodeError> {
        if self.session_present && self.code != ConnectReturnCode::Accepted {
            return Err(DecodeError::ConnAckSessionPresentWithError);
        }
        Ok(())
    }

    pub(crate) fn write_body(&self, w: &mut Writer<'_>) {
        w.u8(u8::from(self.session_present));
        w.u8(self.code.as_u8());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn decode(body: &[u8]) -> Result<Connect<'_>, DecodeError> {
        let mut r = Reader::new(body);
        let c = decode_connect(&mut r)?;
        r.finish()?;
        Ok(c)
    }

    #[test]
    fn connect_flags() {
        let base = |flags: u8| {
            let mut b = [0u8; 14];
            b[..10].copy_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, flags, 0, 60]);
            b[10..].copy_from_slice(&[0, 2, b'i', b'd']);
            b
        };
        let ok = base(0x02);
        let c = decode(&ok).unwrap();
        assert!(c.clean_session);
        assert_eq!((c.keep_alive, c.client_id), (60, "id"));
        assert_eq!(decode(&base(0x03)), Err(DecodeError::ConnectReservedFlag));
        assert_eq!(decode(&base(0x20)), Err(DecodeError::InvalidWillFlags));
        assert_eq!(decode(&base(0x08)), Err(DecodeError::InvalidWillFlags));
        assert_eq!(decode(&base(0x1C)), Err(DecodeError::InvalidWillFlags));
        assert_eq!(
            decode(&base(0x40)),
            Err(DecodeError::PasswordWithoutUsername)
        );
        assert_eq!(decode(&base(0x80)), Err(DecodeError::MalformedLength));
        let mut b = base(0);
        b[6] = 3;
        assert_eq!(decode(&b), Err(DecodeError::UnsupportedProtocolLevel));
        b[5] = b'X';
        assert_eq!(decode(&b), Err(DecodeError::InvalidProtocolName));
    }

    #[test]
    fn connack_rules() {
        let d = |b: &[u8]| decode_connack(&mut Reader::new(b));
        assert_eq!(
            d(&[1, 0]),
            Ok(ConnAck {
                session_present: true,
                code: ConnectReturnCode::Accepted
            })
        );
        assert_eq!(d(&[2, 0]), Err(DecodeError::ConnAckReservedBits));
        assert_eq!(d(&[0, 6]), Err(DecodeError::InvalidConnectReturnCode));
        assert_eq!(d(&[1, 5]), Err(DecodeError::ConnAckSessionPresentWithError));
    }
}
