//! The receive side of a 5.0 connection: framing and decoding with the 5.0 decoder, and
//! dispatching packets.

use mqtt_proto::v5::{
    AuthReasonCode, ConnectReasonCode, Decoder, DisconnectReasonCode, Frame, Packet, PacketType,
    Properties,
};
use mqtt_proto::{DecodeError, PacketId, QosPid};

use super::ServerLimits;
use crate::event::{DisconnectReason, Violation};
use crate::session::{Buffer, Session, State};
use crate::store::Store;

/// A decoded 5.0 packet with its borrowed parts turned into ranges of the receive buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Incoming {
    ConnAck {
        session_present: bool,
        code: ConnectReasonCode,
        props: (usize, usize),
        limits: ServerLimits,
    },
    Publish {
        dup: bool,
        qos_pid: QosPid,
        retain: bool,
        /// Empty when the topic is given by the alias.
        topic: (usize, usize),
        alias: Option<u16>,
        props: (usize, usize),
        payload: (usize, usize),
    },
    /// PUBACK, PUBREC, PUBREL or PUBCOMP.
    Response {
        packet_type: PacketType,
        packet_id: PacketId,
        code: u8,
        props: (usize, usize),
    },
    SubAck {
        packet_id: PacketId,
        codes: (usize, usize),
        props: (usize, usize),
    },
    UnsubAck {
        packet_id: PacketId,
        codes: (usize, usize),
        props: (usize, usize),
    },
    PingResp,
    Disconnect {
        code: DisconnectReasonCode,
        props: (usize, usize),
    },
    Auth {
        code: AuthReasonCode,
        props: (usize, usize),
    },
    /// A packet a client never receives.
    Unexpected(PacketType),
}

/// Offsets of `part` within the buffer starting at address `base`.
fn range(part: &[u8], base: usize) -> (usize, usize) {
    let start = (part.as_ptr() as usize).saturating_sub(base);
    (start, start + part.len())
}

fn props_range(p: &Properties<'_>, base: usize) -> (usize, usize) {
    match p.wire_bytes() {
        Some(b) => range(b, base),
        None => (0, 0),
    }
}

impl<S: Store, B: Buffer> Session<S, B> {
    /// Largest incoming packet on this 5.0 connection: the session's limit, and at most the
    /// Maximum Packet Size of our CONNECT (a larger packet is a Protocol Error, section
    /// 3.1.2.11.4).
    pub(crate) fn max_incoming_v5(&self) -> usize {
        let ours = self
            .v5
            .maximum_packet_size
            .and_then(|m| usize::try_from(m).ok())
            .unwrap_or(usize::MAX);
        self.max_incoming_packet().min(ours)
    }

    /// The 5.0 decoder for this connection's incoming size limit.
    pub(crate) fn decoder_v5(&self) -> Decoder {
        let max = self.max_incoming_v5().saturating_sub(2);
        Decoder::with_max_remaining_length(u32::try_from(max).unwrap_or(u32::MAX))
    }

    /// Whether a whole 5.0 packet (or a broken one) is buffered.
    pub(crate) fn input_ready_v5(&self, buf: &[u8]) -> bool {
        !matches!(self.decoder_v5().frame(buf), Ok(Frame::Incomplete { .. }))
    }

    /// Process buffered 5.0 packets while there is room for what they produce.
    pub(crate) fn process_v5(&mut self) {
        let decoder = self.decoder_v5();
        let max = self.max_incoming_v5();
        while self.receiving()
            && self.orphans == 0
            && self.events.free() >= crate::receive::EVENTS_PER_PACKET
            && self.control.free() >= 1
        {
            let rx = self.rx.as_ref();
            let buf = rx.get(self.rx_pos..self.rx_end).unwrap_or(&[]);
            let too_large = match decoder.frame(buf) {
                Ok(Frame::Complete(h)) if h.total_len() <= max => None,
                Ok(Frame::Complete(_)) | Err(DecodeError::PacketTooLarge) => Some(()),
                Ok(Frame::Incomplete { needed: Some(more) }) => {
                    if buf.len().saturating_add(more.get()) > max {
                        Some(())
                    } else {
                        return;
                    }
                }
                Ok(Frame::Incomplete { needed: None }) => {
                    if buf.len() >= max {
                        Some(())
                    } else {
                        return;
                    }
                }
                Err(e) => {
                    self.violation(Violation::Malformed(e));
                    return;
                }
            };
            if too_large.is_some() {
                // [MQTT-3.1.2-25] is the broker's duty; we say 0x95 and close.
                self.close_with(
                    DisconnectReasonCode::PacketTooLarge,
                    DisconnectReason::IncomingPacketTooLarge,
                );
                return;
            }
            let (packet, total) = match decoder.decode(buf) {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(e) => {
                    self.violation(Violation::Malformed(e));
                    return;
                }
            };
            let incoming = self.to_incoming_v5(packet, rx.as_ptr() as usize);
            if !self.may_dispatch_v5(&incoming) {
                // Waits until the queued messages that read the alias table are polled.
                return;
            }
            self.rx_pos += total;
            self.dispatch_v5(incoming);
        }
    }

    fn to_incoming_v5(&self, p: Packet<'_>, base: usize) -> Incoming {
        let response =
            |packet_type, packet_id, code: u8, props: &Properties<'_>| Incoming::Response {
                packet_type,
                packet_id,
                code,
                props: props_range(props, base),
            };
        match p {
            Packet::ConnAck(c) => {
                let keep_alive = u16::try_from(self.keep_alive.as_secs()).unwrap_or(u16::MAX);
                Incoming::ConnAck {
                    session_present: c.session_present,
                    code: c.reason_code,
                    props: props_range(&c.properties, base),
                    limits: ServerLimits::from_connack(
                        &c.properties,
                        keep_alive,
                        self.v5.connect_session_expiry,
                    ),
                }
            }
            Packet::Publish(p) => Incoming::Publish {
                dup: p.dup,
                qos_pid: p.qos_pid,
                retain: p.retain,
                topic: match p.topic {
                    Some(t) => range(t.as_str().as_bytes(), base),
                    None => (0, 0),
                },
                alias: p.properties.topic_alias(),
                props: props_range(&p.properties, base),
                payload: range(p.payload, base),
            },
            Packet::PubAck(r) => response(
                PacketType::PubAck,
                r.packet_id,
                r.reason_code.as_u8(),
                &r.properties,
            ),
            Packet::PubRec(r) => response(
                PacketType::PubRec,
                r.packet_id,
                r.reason_code.as_u8(),
                &r.properties,
            ),
            Packet::PubRel(r) => response(
                PacketType::PubRel,
                r.packet_id,
                r.reason_code.as_u8(),
                &r.properties,
            ),
            Packet::PubComp(r) => response(
                PacketType::PubComp,
                r.packet_id,
                r.reason_code.as_u8(),
                &r.properties,
            ),
            Packet::SubAck(s) => Incoming::SubAck {
                packet_id: s.packet_id,
                codes: range(s.reason_codes.as_bytes(), base),
                props: props_range(&s.properties, base),
            },
            Packet::UnsubAck(u) => Incoming::UnsubAck {
                packet_id: u.packet_id,
                codes: range(u.reason_codes.as_bytes(), base),
                props: props_range(&u.properties, base),
            },
            Packet::PingResp => Incoming::PingResp,
            Packet::Disconnect(d) => Incoming::Disconnect {
                code: d.reason_code,
                props: props_range(&d.properties, base),
            },
            Packet::Auth(a) => Incoming::Auth {
                code: a.reason_code,
                props: props_range(&a.properties, base),
            },
            other => Incoming::Unexpected(other.packet_type()),
        }
    }

    fn dispatch_v5(&mut self, p: Incoming) {
        if self.state == State::Connecting {
            return match p {
                Incoming::ConnAck {
                    session_present,
                    code,
                    props,
                    limits,
                } => self.on_connack_v5(session_present, code, props, limits),
                // A broker may refuse with DISCONNECT before CONNACK.
                Incoming::Disconnect { code, props } => self.on_disconnect_v5(code, props),
                // The authentication exchange goes before CONNACK [MQTT-3.2.0-1].
                Incoming::Auth { code, props } => self.on_auth_v5(code, props),
                Incoming::Unexpected(t) => self.violation(unexpected(t)),
                other => self.violation(match v3(packet_type(&other)) {
                    Some(t) => Violation::ConnAckNotFirst(t),
                    None => Violation::UnexpectedAuth,
                }),
            };
        }
        match p {
            Incoming::ConnAck { .. } => self.violation(Violation::DuplicateConnAck),
            Incoming::Publish {
                dup,
                qos_pid,
                retain,
                topic,
                alias,
                props,
                payload,
            } => self.on_publish_v5(dup, qos_pid, retain, topic, alias, props, payload),
            Incoming::Response {
                packet_type,
                packet_id,
                code,
                props,
            } => self.on_response_v5(packet_type, packet_id, code, props),
            Incoming::SubAck {
                packet_id,
                codes,
                props,
            } => self.on_suback_v5(packet_id, codes, props),
            Incoming::UnsubAck {
                packet_id,
                codes,
                props,
            } => self.on_unsuback_v5(packet_id, codes, props),
            Incoming::PingResp => self.on_pingresp(),
            Incoming::Disconnect { code, props } => self.on_disconnect_v5(code, props),
            Incoming::Auth { code, props } => self.on_auth_v5(code, props),
            Incoming::Unexpected(t) => self.violation(unexpected(t)),
        }
    }
}

/// The 3.1.1 packet type of a 5.0 one (all but AUTH).
fn v3(t: PacketType) -> Option<mqtt_proto::PacketType> {
    mqtt_proto::PacketType::from_first_byte((t as u8) << 4 | t.fixed_flags()).ok()
}

fn unexpected(t: PacketType) -> Violation {
    match v3(t) {
        Some(t) => Violation::UnexpectedPacket(t),
        None => Violation::UnexpectedAuth,
    }
}

fn packet_type(p: &Incoming) -> PacketType {
    match p {
        Incoming::ConnAck { .. } => PacketType::ConnAck,
        Incoming::Publish { .. } => PacketType::Publish,
        Incoming::Response { packet_type, .. } => *packet_type,
        Incoming::SubAck { .. } => PacketType::SubAck,
        Incoming::UnsubAck { .. } => PacketType::UnsubAck,
        Incoming::PingResp => PacketType::PingResp,
        Incoming::Disconnect { .. } => PacketType::Disconnect,
        Incoming::Auth { .. } => PacketType::Auth,
        Incoming::Unexpected(t) => *t,
    }
}
