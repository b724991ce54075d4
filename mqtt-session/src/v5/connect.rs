//! 5.0 CONNECT, CONNACK and DISCONNECT (both ways).

use mqtt_proto::v5::{
    ConnectReasonCode, Disconnect, DisconnectReasonCode, Packet, PacketType, Properties, PropertyId,
};
use mqtt_proto::{DecodeError, EncodeError, TopicName};

use super::{Codes, InAliases, ServerLimits};
use crate::connect::ConnectOptionsV5;
use crate::error::CommandError;
use crate::event::{DisconnectReason, Violation};
use crate::session::{Buffer, EventRepr, Session, State};
use crate::store::Store;
use crate::time::Instant;

/// What a 5.0 DISCONNECT from the client carries (section 3.14): see
/// [`Session::disconnect_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisconnectOptions<'a> {
    /// The reason code: [`DisconnectReasonCode::NormalDisconnection`] (the broker discards the
    /// will), [`DisconnectReasonCode::DisconnectWithWillMessage`] (the broker publishes it), or
    /// an error code a client may send (section 3.14.2.1: 0x80 to 0x83, 0x90, 0x93 to 0x99).
    pub reason_code: DisconnectReasonCode,
    /// DISCONNECT properties: Session Expiry Interval (not above 0 if the CONNECT's was 0
    /// [MQTT-3.14.2-2]), Reason String, User Properties. A Server Reference is for servers only.
    pub properties: Properties<'a>,
}

impl DisconnectOptions<'_> {
    /// A normal disconnection without properties.
    pub const NORMAL: DisconnectOptions<'static> = DisconnectOptions {
        reason_code: DisconnectReasonCode::NormalDisconnection,
        properties: Properties::EMPTY,
    };

    /// This reason code, no properties.
    pub const fn new(reason_code: DisconnectReasonCode) -> Self {
        DisconnectOptions {
            reason_code,
            properties: Properties::EMPTY,
        }
    }
}

/// Whether a client may send this DISCONNECT reason code (the "Sent by" column of section
/// 3.14.2.1); the others are the server's.
fn client_may_send(code: DisconnectReasonCode) -> bool {
    use DisconnectReasonCode as C;
    matches!(
        code,
        C::NormalDisconnection
            | C::DisconnectWithWillMessage
            | C::UnspecifiedError
            | C::MalformedPacket
            | C::ProtocolError
            | C::ImplementationSpecificError
            | C::TopicNameInvalid
            | C::ReceiveMaximumExceeded
            | C::TopicAliasInvalid
            | C::PacketTooLarge
            | C::MessageRateTooHigh
            | C::QuotaExceeded
            | C::AdministrativeAction
            | C::PayloadFormatInvalid
    )
}

impl<S: Store, B: Buffer> Session<S, B> {
    /// Check and queue a 5.0 CONNECT; the caller starts the connection when this succeeds.
    pub(crate) fn connect_v5(&mut self, v5: &ConnectOptionsV5<'_>) -> Result<(), CommandError> {
        let options = &v5.options;
        let props = &v5.properties;
        let auth = super::Auth::for_connect(props)?;
        if options.will.is_none() && !v5.will_properties.is_empty() {
            return Err(CommandError::WillPropertiesWithoutWill);
        }
        let topic_alias_maximum = props.topic_alias_maximum().unwrap_or(0);
        #[allow(clippy::absurd_extreme_comparisons)]
        if topic_alias_maximum > InAliases::CAPACITY {
            return Err(CommandError::TopicAliasesUnavailable);
        }
        let limit = self.max_incoming_packet();
        if let Some(max) = props.maximum_packet_size() {
            if usize::try_from(max).map_or(true, |m| m > limit) {
                return Err(CommandError::MaximumPacketSizeTooLarge { limit });
            }
        }
        let will = match &options.will {
            Some(w) => Some(mqtt_proto::v5::Will {
                properties: v5.will_properties,
                topic: TopicName::new(w.topic).map_err(CommandError::Invalid)?,
                payload: w.payload,
                qos: w.qos,
                retain: w.retain,
            }),
            None => None,
        };
        let packet = Packet::Connect(mqtt_proto::v5::Connect {
            clean_start: options.clean_session,
            keep_alive: options.keep_alive,
            properties: v5.properties,
            client_id: options.client_id,
            will,
            username: options.username,
            password: options.password,
        });
        self.queue_v5(&packet)?;
        let expiry = props.session_expiry_interval().unwrap_or(0);
        let v = &mut self.v5;
        v.on = true;
        v.receive_maximum = props.receive_maximum().unwrap_or(u16::MAX);
        v.topic_alias_maximum = topic_alias_maximum;
        v.maximum_packet_size = props.maximum_packet_size();
        v.connect_session_expiry = expiry;
        v.auth = auth;
        v.accepted = false;
        v.server = ServerLimits::defaults(options.keep_alive, expiry);
        v.closing = None;
        v.disconnect_written = false;
        v.aliases_in.clear();
        v.aliases_out.clear();
        // Our Receive Maximum counts this connection's messages only (section 4.9).
        v.incoming_qos2 = 0;
        Ok(())
    }

    /// Encode a 5.0 packet at the end of the transmit buffer; nothing changes on `Err`.
    pub(crate) fn queue_v5(&mut self, packet: &Packet<'_>) -> Result<(), CommandError> {
        let required = packet.encoded_len();
        if required > self.tx_capacity() {
            return Err(CommandError::PacketTooLarge { required });
        }
        let Some(dst) = self.tx_reserve(required) else {
            return Err(CommandError::TransmitBufferFull { required });
        };
        let written = match packet.encode(dst) {
            Ok(n) => n,
            Err(EncodeError::Invalid(e)) => return Err(CommandError::Invalid(e)),
            Err(EncodeError::BufferTooSmall { required }) => {
                return Err(CommandError::TransmitBufferFull { required });
            }
            Err(_) => return Err(CommandError::PacketTooLarge { required }),
        };
        self.tx_tail += written;
        Ok(())
    }

    /// Command (5.0): queue DISCONNECT with this reason code and properties after everything
    /// already queued. As [`Session::disconnect`], the connection ends with
    /// [`DisconnectReason::Local`] once it is written, and nothing is sent after it
    /// [MQTT-3.14.4-1]. Reason code 0x04 asks the broker to publish the will.
    ///
    /// A Session Expiry Interval in the options replaces the one in force: 0 ends the session
    /// with this connection (held messages then follow
    /// [`Config::session_lost`](crate::Config::session_lost)). Errors:
    /// [`CommandError::RequiresV5`] on a 3.1.1 connection,
    /// [`CommandError::SessionExpiryAfterZero`] for a non-zero Session Expiry Interval when the
    /// CONNECT's was 0 [MQTT-3.14.2-2], [`CommandError::PacketTooLargeForServer`] above the
    /// broker's Maximum Packet Size [MQTT-3.2.2-15], [`CommandError::Invalid`] for a property
    /// not allowed in DISCONNECT, or with [`DecodeError::InvalidDisconnectReasonCode`] for a
    /// reason code only a server sends (section 3.14.2.1).
    pub fn disconnect_with(
        &mut self,
        now: Instant,
        options: &DisconnectOptions<'_>,
    ) -> Result<(), CommandError> {
        self.settle();
        self.clamp(now);
        if !matches!(self.state, State::Connecting | State::Connected) {
            return Err(CommandError::NotConnected);
        }
        self.check_disconnect_with(options)?;
        let expiry = options.properties.session_expiry_interval();
        let packet = Packet::Disconnect(Disconnect {
            reason_code: options.reason_code,
            properties: options.properties,
        });
        self.queue_v5(&packet)?;
        if let Some(e) = expiry {
            self.v5.server.session_expiry_interval = e;
        }
        self.state = State::Disconnecting;
        self.v5.closing = Some(DisconnectReason::Local);
        Ok(())
    }

    /// The checks [`Session::disconnect_with`] makes of its options, without changing anything
    /// (for a driver that sends the DISCONNECT later, from its own loop): the same errors,
    /// but for the connection's state.
    pub fn check_disconnect_with(
        &self,
        options: &DisconnectOptions<'_>,
    ) -> Result<(), CommandError> {
        if !self.v5.on {
            return Err(CommandError::RequiresV5);
        }
        if !client_may_send(options.reason_code) {
            return Err(CommandError::Invalid(
                DecodeError::InvalidDisconnectReasonCode,
            ));
        }
        let expiry = options.properties.session_expiry_interval();
        if expiry.is_some_and(|e| e > 0) && self.v5.connect_session_expiry == 0 {
            return Err(CommandError::SessionExpiryAfterZero);
        }
        let packet = Packet::Disconnect(Disconnect {
            reason_code: options.reason_code,
            properties: options.properties,
        });
        self.check_server_size(packet.encoded_len())
    }

    /// A packet of `required` bytes must fit the broker's Maximum Packet Size.
    pub(crate) fn check_server_size(&self, required: usize) -> Result<(), CommandError> {
        match self.v5.server.maximum_packet_size {
            Some(max) if self.v5.on && usize::try_from(max).is_ok_and(|m| required > m) => {
                Err(CommandError::PacketTooLargeForServer {
                    required,
                    maximum: max,
                })
            }
            _ => Ok(()),
        }
    }

    /// The broker broke the protocol on a 5.0 connection: send DISCONNECT with the reason code
    /// that names the error, then end the connection [MQTT-4.13.1-1]. Nothing else goes out.
    pub(crate) fn close_with(&mut self, code: DisconnectReasonCode, reason: DisconnectReason) {
        if !matches!(self.state, State::Connecting | State::Connected) || self.connect_unsent {
            // Our CONNECT has not gone out (or a DISCONNECT is already queued): just close.
            return self.end_connection(reason);
        }
        self.tx_head = 0;
        self.tx_tail = 0;
        self.control.clear();
        self.disconnect_queued = false;
        if !self.tx_push(&[0xE0, 0x01, code.as_u8()]) {
            return self.end_connection(reason);
        }
        self.state = State::Disconnecting;
        self.v5.closing = Some(reason);
    }

    /// The reason code a 5.0 DISCONNECT gives for a broker's violation (section 4.13).
    pub(crate) fn violation_code(v: &Violation) -> DisconnectReasonCode {
        match v {
            // Topic Alias 0 is a Topic Alias invalid [MQTT-3.3.2-8].
            Violation::Malformed(mqtt_proto::DecodeError::ZeroTopicAlias) => {
                DisconnectReasonCode::TopicAliasInvalid
            }
            Violation::Malformed(_) => DisconnectReasonCode::MalformedPacket,
            Violation::ReceiveMaximumExceeded => DisconnectReasonCode::ReceiveMaximumExceeded,
            Violation::TopicAliasInvalid(_) => DisconnectReasonCode::TopicAliasInvalid,
            _ => DisconnectReasonCode::ProtocolError,
        }
    }

    /// CONNACK on a 5.0 connection waiting for it.
    pub(crate) fn on_connack_v5(
        &mut self,
        session_present: bool,
        code: ConnectReasonCode,
        props: (usize, usize),
        limits: ServerLimits,
    ) {
        self.push_packet_event(EventRepr::Response {
            packet_type: PacketType::ConnAck,
            packet_id: None,
            codes: Codes::One(code.as_u8()),
            props,
        });
        if code.is_error() {
            // The broker closes the connection [MQTT-4.13.2-1].
            self.end_connection(DisconnectReason::RefusedV5(code));
            return;
        }
        if session_present && self.clean_session {
            // [MQTT-3.2.2-4]: no session state of ours to resume.
            self.violation(Violation::SessionPresentWithCleanSession);
            return;
        }
        if session_present && self.session_ended {
            // Our session ended (Session Expiry 0, or state of another client id): no state
            // to resume either [MQTT-3.2.2-4].
            self.violation(Violation::SessionPresentWithoutSession);
            return;
        }
        if let Some(v) = self.connack_auth_violation(props) {
            return self.violation(v);
        }
        self.v5.auth.step = super::auth::Step::Idle;
        self.v5.server = limits;
        self.v5.accepted = true;
        self.keep_alive = core::time::Duration::from_secs(u64::from(limits.keep_alive));
        self.state = State::Connected;
        self.push_packet_event(EventRepr::Connected { session_present });
        self.resume(session_present);
        // A session exists again, resumed or new.
        self.session_ended = false;
    }

    /// DISCONNECT from the broker: the connection is over [MQTT-4.13.2-1].
    pub(crate) fn on_disconnect_v5(&mut self, code: DisconnectReasonCode, props: (usize, usize)) {
        let expiry = super::props_at(self.rx.as_ref(), props, PacketType::Disconnect)
            .contains(PropertyId::SessionExpiryInterval);
        self.push_packet_event(EventRepr::Response {
            packet_type: PacketType::Disconnect,
            packet_id: None,
            codes: Codes::One(code.as_u8()),
            props,
        });
        if expiry {
            // [MQTT-3.14.2-2]; the broker closes the connection anyway.
            return self.end_connection(DisconnectReason::ProtocolViolation(
                Violation::SessionExpiryInServerDisconnect,
            ));
        }
        self.end_connection(DisconnectReason::Server(code));
    }
}
