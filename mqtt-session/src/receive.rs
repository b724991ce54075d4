//! The receive side: buffering incoming bytes, framing, and dispatching packets.
//!
//! Bytes `[rx_pos, rx_end)` of the receive buffer are unprocessed. Processing a packet may queue
//! an event that borrows its bytes (a message, a SUBACK), so the buffer is compacted only when
//! no queued event points into it. Processing pauses when the event queue or the
//! acknowledgement queue is nearly full, which bounds everything the session holds.

use mqtt_proto::{ConnAck, DecodeError, Decoder, Frame, Packet, PacketId, PacketType, QosPid};

use crate::event::{DisconnectReason, Violation};
use crate::session::{Buffer, EventRepr, Session, State};
use crate::store::Store;
use crate::time::Instant;

/// A decoded packet with its borrowed parts turned into ranges of the receive buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Incoming {
    ConnAck(ConnAck),
    Publish {
        dup: bool,
        qos_pid: QosPid,
        retain: bool,
        topic: (usize, usize),
        payload: (usize, usize),
    },
    PubAck(PacketId),
    PubRec(PacketId),
    PubRel(PacketId),
    PubComp(PacketId),
    SubAck {
        packet_id: PacketId,
        codes: (usize, usize),
    },
    UnsubAck(PacketId),
    PingResp,
    /// A packet a client never receives.
    Unexpected(PacketType),
}

/// Events one packet can queue (CONNACK refused: two), plus one kept for a timer's
/// `Disconnected`.
pub(crate) const EVENTS_PER_PACKET: usize = 3;

impl<S: Store, B: Buffer> Session<S, B> {
    /// Input: bytes from the transport, split anyhow. Copies what fits into the receive buffer,
    /// processes every whole packet it can, and returns how many bytes it took. When it took
    /// fewer than `data.len()`, drain [`Session::poll_event`] and [`Session::poll_transmit`]
    /// and call again with the rest. Bytes received while no connection is active are
    /// discarded (and counted as taken).
    pub fn handle_receive(&mut self, now: Instant, data: &[u8]) -> usize {
        self.settle();
        self.clamp(now);
        if !self.receiving() {
            return data.len();
        }
        self.compact();
        let free = self.rx.as_ref().len() - self.rx_end;
        let n = free.min(data.len());
        let start = self.rx_end;
        if let (Some(dst), Some(src)) = (self.rx.as_mut().get_mut(start..start + n), data.get(..n))
        {
            dst.copy_from_slice(src);
            self.rx_end += n;
        }
        self.process();
        n
    }

    /// Zero-copy receive, step 1: the free part of the receive buffer; read from the transport
    /// into it, then call [`Session::handle_received`] with the count. Empty while the buffer is
    /// full of unprocessed input (drain the polls first).
    pub fn receive_buffer(&mut self) -> &mut [u8] {
        self.settle();
        self.compact();
        let start = self.rx_end;
        self.rx.as_mut().get_mut(start..).unwrap_or(&mut [])
    }

    /// Zero-copy receive, step 2: `n` bytes were written at the start of
    /// [`Session::receive_buffer`]. `n` is clamped to that buffer's length.
    pub fn handle_received(&mut self, now: Instant, n: usize) {
        self.settle();
        self.clamp(now);
        if !self.receiving() {
            return;
        }
        let free = self.rx.as_ref().len() - self.rx_end;
        self.rx_end += n.min(free);
        self.process();
    }

    /// Whether incoming bytes are processed: CONNECT sent and the connection not ending.
    pub(crate) fn receiving(&self) -> bool {
        matches!(self.state, State::Connecting | State::Connected)
    }

    /// Move unprocessed bytes to the start of the receive buffer when nothing points into it.
    fn compact(&mut self) {
        if self.rx_pos == 0 || self.events.iter().any(|e| e.borrows_rx()) {
            return;
        }
        if self.rx_pos < self.rx_end {
            self.rx.as_mut().copy_within(self.rx_pos..self.rx_end, 0);
        }
        self.rx_end -= self.rx_pos;
        self.rx_pos = 0;
    }

    /// The decoder for this session's incoming size limit.
    fn decoder(&self) -> Decoder {
        let max = self.max_incoming_packet().saturating_sub(2);
        Decoder::with_max_remaining_length(u32::try_from(max).unwrap_or(u32::MAX))
    }

    /// Whether processing is blocked with a whole packet buffered (it waits for room in the
    /// acknowledgement queue).
    pub(crate) fn input_ready(&self) -> bool {
        if !self.receiving() || self.rx_pos >= self.rx_end {
            return false;
        }
        let buf = self
            .rx
            .as_ref()
            .get(self.rx_pos..self.rx_end)
            .unwrap_or(&[]);
        #[cfg(feature = "v5")]
        if self.v5.on {
            return self.input_ready_v5(buf);
        }
        !matches!(self.decoder().frame(buf), Ok(Frame::Incomplete { .. }))
    }

    /// Process buffered packets while there is room for what they produce.
    pub(crate) fn process(&mut self) {
        #[cfg(feature = "v5")]
        if self.v5.on {
            return self.process_v5();
        }
        let decoder = self.decoder();
        let max = self.max_incoming_packet();
        while self.receiving()
            && self.orphans == 0
            && self.events.free() >= EVENTS_PER_PACKET
            && self.control.free() >= 1
        {
            let rx = self.rx.as_ref();
            let buf = rx.get(self.rx_pos..self.rx_end).unwrap_or(&[]);
            let header = match decoder.frame(buf) {
                Ok(Frame::Complete(h)) => h,
                Ok(Frame::Incomplete { needed: Some(more) }) => {
                    if buf.len().saturating_add(more.get()) > max {
                        self.end_connection(DisconnectReason::IncomingPacketTooLarge);
                    }
                    return;
                }
                Ok(Frame::Incomplete { needed: None }) => {
                    // The fixed header alone already fills the limit: the packet cannot fit
                    // (its length is only known at the length's last byte, which the buffer
                    // has no room for).
                    if buf.len() >= max {
                        self.end_connection(DisconnectReason::IncomingPacketTooLarge);
                    }
                    return;
                }
                Err(DecodeError::PacketTooLarge) => {
                    self.end_connection(DisconnectReason::IncomingPacketTooLarge);
                    return;
                }
                Err(e) => {
                    self.violation(Violation::Malformed(e));
                    return;
                }
            };
            let total = header.total_len();
            if total > max {
                self.end_connection(DisconnectReason::IncomingPacketTooLarge);
                return;
            }
            let body = buf.get(header.header_len..total).unwrap_or(&[]);
            let incoming = match decoder.decode_body(&header, body) {
                Ok(packet) => to_incoming(packet, rx.as_ptr() as usize),
                Err(e) => {
                    self.violation(Violation::Malformed(e));
                    return;
                }
            };
            self.rx_pos += total;
            self.dispatch(incoming);
        }
    }

    /// The broker broke the protocol: end the connection [MQTT-4.8.0-1].
    pub(crate) fn violation(&mut self, v: Violation) {
        #[cfg(feature = "v5")]
        if self.v5.on {
            // 5.0: say why before closing [MQTT-4.13.1-1].
            let code = Self::violation_code(&v);
            return self.close_with(code, DisconnectReason::ProtocolViolation(v));
        }
        self.end_connection(DisconnectReason::ProtocolViolation(v));
    }

    fn dispatch(&mut self, p: Incoming) {
        if self.state == State::Connecting {
            return match p {
                Incoming::ConnAck(c) => self.on_connack(c),
                Incoming::Unexpected(t) => self.violation(Violation::UnexpectedPacket(t)),
                other => self.violation(Violation::ConnAckNotFirst(packet_type(&other))),
            };
        }
        match p {
            Incoming::ConnAck(_) => self.violation(Violation::DuplicateConnAck),
            Incoming::Publish {
                dup,
                qos_pid,
                retain,
                topic,
                payload,
            } => self.on_publish(dup, qos_pid, retain, topic, payload),
            Incoming::PubAck(id) => self.on_puback(id),
            Incoming::PubRec(id) => self.on_pubrec(id),
            Incoming::PubRel(id) => self.on_pubrel(id),
            Incoming::PubComp(id) => self.on_pubcomp(id),
            Incoming::SubAck { packet_id, codes } => self.on_suback(packet_id, codes),
            Incoming::UnsubAck(id) => self.on_unsuback(id),
            Incoming::PingResp => self.on_pingresp(),
            Incoming::Unexpected(t) => self.violation(Violation::UnexpectedPacket(t)),
        }
    }

    /// Queue a four-byte acknowledgement (room was checked before the packet was processed).
    pub(crate) fn push_control(&mut self, c: [u8; 4]) {
        let pushed = self.control.push(c);
        debug_assert!(pushed.is_ok(), "control queue overflow");
    }

    /// Queue an event for a packet (room was checked before the packet was processed).
    pub(crate) fn push_packet_event(&mut self, e: EventRepr) {
        self.push_event(e);
    }
}

/// Offsets of `part` within the buffer starting at address `base`.
fn range(part: &[u8], base: usize) -> (usize, usize) {
    let start = (part.as_ptr() as usize).saturating_sub(base);
    (start, start + part.len())
}

fn to_incoming(p: Packet<'_>, base: usize) -> Incoming {
    match p {
        Packet::ConnAck(c) => Incoming::ConnAck(c),
        Packet::Publish(p) => Incoming::Publish {
            dup: p.dup,
            qos_pid: p.qos_pid,
            retain: p.retain,
            topic: range(p.topic.as_str().as_bytes(), base),
            payload: range(p.payload, base),
        },
        Packet::PubAck(id) => Incoming::PubAck(id),
        Packet::PubRec(id) => Incoming::PubRec(id),
        Packet::PubRel(id) => Incoming::PubRel(id),
        Packet::PubComp(id) => Incoming::PubComp(id),
        Packet::SubAck(s) => Incoming::SubAck {
            packet_id: s.packet_id,
            codes: range(s.codes.as_bytes(), base),
        },
        Packet::UnsubAck(id) => Incoming::UnsubAck(id),
        Packet::PingResp => Incoming::PingResp,
        other => Incoming::Unexpected(other.packet_type()),
    }
}

fn packet_type(p: &Incoming) -> PacketType {
    match p {
        Incoming::ConnAck(_) => PacketType::ConnAck,
        Incoming::Publish { .. } => PacketType::Publish,
        Incoming::PubAck(_) => PacketType::PubAck,
        Incoming::PubRec(_) => PacketType::PubRec,
        Incoming::PubRel(_) => PacketType::PubRel,
        Incoming::PubComp(_) => PacketType::PubComp,
        Incoming::SubAck { .. } => PacketType::SubAck,
        Incoming::UnsubAck(_) => PacketType::UnsubAck,
        Incoming::PingResp => PacketType::PingResp,
        Incoming::Unexpected(t) => *t,
    }
}
