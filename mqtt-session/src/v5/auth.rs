//! 5.0 enhanced authentication (section 4.12): the AUTH exchange during connect and
//! re-authentication after it.
//!
//! The CONNECT's Authentication Method is kept (up to [`MAX_AUTH_METHOD_LEN`] bytes, no
//! allocation) to check every AUTH and the successful CONNACK against it [MQTT-4.12.0-5] and to
//! send it in every AUTH of ours [MQTT-4.12.1-1]. The exchange alternates: after CONNECT or an
//! AUTH of ours it is the broker's turn ([`Step::Broker`]); after the broker's AUTH 0x18 it is
//! the application's ([`Step::Application`]), until [`Session::auth_continue`] answers.

use mqtt_proto::v5::{
    AuthReasonCode, DisconnectReasonCode, Packet, PacketType, Properties, Property,
};

use super::DisconnectOptions;
use crate::error::CommandError;
use crate::event::{Event, Violation};
use crate::session::{Buffer, EventRepr, Session, State};
use crate::store::Store;
use crate::time::Instant;

/// The longest Authentication Method the session keeps, in bytes (a longer one in CONNECT is
/// [`CommandError::AuthMethodTooLong`]). SASL mechanism names, which the standard suggests as
/// methods, are at most 20 characters.
pub const MAX_AUTH_METHOD_LEN: usize = 64;

/// Whose turn it is in an authentication exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// No exchange in progress (after a successful CONNACK or re-authentication).
    Idle,
    /// CONNECT or an AUTH of ours awaits the broker's AUTH (or CONNACK while connecting).
    Broker,
    /// The broker's AUTH 0x18 awaits the application's [`Session::auth_continue`].
    Application,
}

/// The enhanced authentication of the current (or last) 5.0 connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Auth {
    /// The CONNECT carried an Authentication Method.
    pub(crate) on: bool,
    len: usize,
    method: [u8; MAX_AUTH_METHOD_LEN],
    pub(crate) step: Step,
}

impl Auth {
    pub(crate) const fn new() -> Self {
        Auth {
            on: false,
            len: 0,
            method: [0; MAX_AUTH_METHOD_LEN],
            step: Step::Idle,
        }
    }

    /// The state for a CONNECT with these properties; `Err` if the session cannot honour them.
    pub(crate) fn for_connect(props: &Properties<'_>) -> Result<Self, CommandError> {
        let mut auth = Auth::new();
        let Some(method) = props.authentication_method() else {
            if props.authentication_data().is_some() {
                // Section 3.1.2.11.10: Authentication Data without a method is a Protocol
                // Error.
                return Err(CommandError::AuthDataWithoutMethod);
            }
            return Ok(auth);
        };
        let b = method.as_bytes();
        let Some(dst) = auth.method.get_mut(..b.len()) else {
            return Err(CommandError::AuthMethodTooLong {
                max: MAX_AUTH_METHOD_LEN,
            });
        };
        dst.copy_from_slice(b);
        auth.len = b.len();
        auth.on = true;
        auth.step = Step::Broker;
        Ok(auth)
    }

    /// The Authentication Method of the CONNECT (empty without one).
    pub(crate) fn method(&self) -> &str {
        self.method
            .get(..self.len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// Whether a packet's properties carry the CONNECT's Authentication Method [MQTT-4.12.0-5].
    pub(crate) fn same_method(&self, props: &Properties<'_>) -> bool {
        props.authentication_method() == Some(self.method())
    }
}

/// The event of a queued AUTH 0x18 (`reauthenticated` false) or 0x00 of the broker's, whose
/// properties are at `props` in the receive buffer `rx`.
pub(crate) fn auth_event(rx: &[u8], props: (usize, usize), reauthenticated: bool) -> Event<'_> {
    let properties = super::props_at(rx, props, PacketType::Auth);
    let method = properties.authentication_method().unwrap_or("");
    let data = properties.authentication_data();
    let reason_string = properties.reason_string();
    if reauthenticated {
        Event::Reauthenticated {
            method,
            data,
            reason_string,
            properties,
        }
    } else {
        Event::AuthContinue {
            method,
            data,
            reason_string,
            properties,
        }
    }
}

impl<S: Store, B: Buffer> Session<S, B> {
    /// Command (5.0): answer the broker's AUTH 0x18 Continue authentication
    /// ([`Event::AuthContinue`](crate::Event::AuthContinue)) with AUTH 0x18 [MQTT-4.12.0-3],
    /// carrying the CONNECT's Authentication Method [MQTT-4.12.0-5] and `data` as the
    /// Authentication Data (none when `None`). It is then the broker's turn: another AUTH 0x18,
    /// or, while connecting, CONNACK; during re-authentication, AUTH 0x00 Success
    /// ([`Event::Reauthenticated`](crate::Event::Reauthenticated)).
    ///
    /// While connecting, the CONNACK timeout ([`Config::connack_timeout`](crate::Config))
    /// started by [`Session::connect`] runs through the whole exchange, the application's time
    /// to answer included: an exchange that has not ended with CONNACK by then ends with
    /// [`DisconnectReason::ConnAckTimeout`](crate::DisconnectReason::ConnAckTimeout).
    ///
    /// Errors: [`CommandError::NotConnected`] with no connection being made or up,
    /// [`CommandError::RequiresV5`] on a 3.1.1 connection, [`CommandError::NoAuthMethod`] if
    /// the CONNECT had no Authentication Method [MQTT-4.12.0-7],
    /// [`CommandError::AuthNotAwaited`] unless an AUTH 0x18 of the broker's awaits its answer,
    /// [`CommandError::PacketTooLargeForServer`] above the broker's Maximum Packet Size, and
    /// those of a full transmit buffer.
    pub fn auth_continue(&mut self, now: Instant, data: Option<&[u8]>) -> Result<(), CommandError> {
        self.check_auth_command(now)?;
        if self.v5.auth.step != Step::Application {
            return Err(CommandError::AuthNotAwaited);
        }
        self.queue_auth(AuthReasonCode::ContinueAuthentication, data)?;
        self.v5.auth.step = Step::Broker;
        Ok(())
    }

    /// Command (5.0): start a re-authentication [MQTT-4.12.1-1]: AUTH 0x19 Re-authenticate
    /// with the CONNECT's Authentication Method and `data` as the Authentication Data (none
    /// when `None`). The broker answers with AUTH 0x18 ([`Event::AuthContinue`](crate::Event),
    /// answered with [`Session::auth_continue`]) as often as the method needs, then AUTH 0x00
    /// ([`Event::Reauthenticated`](crate::Event::Reauthenticated)); if it refuses, it sends
    /// DISCONNECT [MQTT-4.12.1-2]. Other packets flow meanwhile under the previous
    /// authentication.
    ///
    /// No timer of the session's bounds the broker's answer (the standard sets none): the keep
    /// alive goes on, and [`Session::abort_auth`] gives up.
    ///
    /// Errors: [`CommandError::NotConnected`] before CONNACK accepted the connection,
    /// [`CommandError::RequiresV5`], [`CommandError::NoAuthMethod`] if the CONNECT had no
    /// Authentication Method [MQTT-4.12.0-7], [`CommandError::AuthInProgress`] while an
    /// exchange is under way, [`CommandError::PacketTooLargeForServer`] above the broker's
    /// Maximum Packet Size, and those of a full transmit buffer.
    pub fn reauthenticate(
        &mut self,
        now: Instant,
        data: Option<&[u8]>,
    ) -> Result<(), CommandError> {
        self.check_auth_command(now)?;
        if self.state != State::Connected {
            return Err(CommandError::NotConnected);
        }
        if self.v5.auth.step != Step::Idle {
            return Err(CommandError::AuthInProgress);
        }
        self.queue_auth(AuthReasonCode::ReAuthenticate, data)?;
        self.v5.auth.step = Step::Broker;
        Ok(())
    }

    /// Command (5.0): give up the authentication (the broker's Authentication Data does not
    /// verify, during connect, in the successful CONNACK's
    /// [`Event::Response`](crate::Event::Response), or during re-authentication): queue
    /// DISCONNECT 0x80 Unspecified error and end the connection once it is written, with
    /// [`DisconnectReason::Local`](crate::DisconnectReason::Local), as
    /// [`Session::disconnect_with`] does.
    ///
    /// The reason code: the DISCONNECT codes that name an authentication failure, 0x87 Not
    /// authorized and 0x8C Bad authentication method, are the server's to send (the table of
    /// section 3.14.2.1 says who sends each code), and a client must use one of its own
    /// [MQTT-3.14.2-1]; of those, 0x80 Unspecified error is the one for "none of the other
    /// reason codes apply". Use [`Session::disconnect_with`] to add a Reason String.
    ///
    /// Errors: [`CommandError::NotConnected`], [`CommandError::RequiresV5`],
    /// [`CommandError::NoAuthMethod`] if the CONNECT had no Authentication Method.
    pub fn abort_auth(&mut self, now: Instant) -> Result<(), CommandError> {
        self.check_auth_command(now)?;
        let options = DisconnectOptions::new(DisconnectReasonCode::UnspecifiedError);
        self.disconnect_with(now, &options)
    }

    /// The checks every authentication command makes first.
    fn check_auth_command(&mut self, now: Instant) -> Result<(), CommandError> {
        self.settle();
        self.clamp(now);
        if !matches!(self.state, State::Connecting | State::Connected) {
            return Err(CommandError::NotConnected);
        }
        if !self.v5.on {
            return Err(CommandError::RequiresV5);
        }
        if !self.v5.auth.on {
            return Err(CommandError::NoAuthMethod);
        }
        Ok(())
    }

    /// Queue an AUTH of ours with the CONNECT's method; nothing changes on `Err`.
    fn queue_auth(
        &mut self,
        code: AuthReasonCode,
        data: Option<&[u8]>,
    ) -> Result<(), CommandError> {
        // A copy, so that the method is not borrowed from the session while it queues.
        let auth = self.v5.auth;
        let method = Property::AuthenticationMethod(auth.method());
        let with_data;
        let list: &[Property<'_>] = match data {
            Some(d) => {
                with_data = [method, Property::AuthenticationData(d)];
                &with_data
            }
            None => core::slice::from_ref(&method),
        };
        let packet = Packet::Auth(mqtt_proto::v5::Auth {
            reason_code: code,
            properties: Properties::new(list),
        });
        self.check_server_size(packet.encoded_len())?;
        self.queue_v5(&packet)
    }

    /// AUTH from the broker, connecting or connected.
    pub(crate) fn on_auth_v5(&mut self, code: AuthReasonCode, props: (usize, usize)) {
        let auth = self.v5.auth;
        if !auth.on {
            return self.violation(Violation::UnexpectedAuth);
        }
        let p = super::props_at(self.rx.as_ref(), props, PacketType::Auth);
        if !auth.same_method(&p) {
            return self.violation(Violation::AuthMethodMismatch);
        }
        let connecting = self.state == State::Connecting;
        let v = match (code, auth.step) {
            (AuthReasonCode::ReAuthenticate, _) => Violation::ReAuthenticateFromServer,
            (_, Step::Application) => Violation::AuthBeforeAnswer,
            (_, Step::Idle) => Violation::UnsolicitedAuth(code.as_u8()),
            (AuthReasonCode::Success, Step::Broker) if connecting => {
                Violation::AuthSuccessBeforeConnAck
            }
            (AuthReasonCode::ContinueAuthentication, Step::Broker) => {
                self.v5.auth.step = Step::Application;
                return self.push_packet_event(EventRepr::AuthContinue { props });
            }
            (AuthReasonCode::Success, Step::Broker) => {
                self.v5.auth.step = Step::Idle;
                return self.push_packet_event(EventRepr::Reauthenticated { props });
            }
        };
        self.violation(v);
    }

    /// The authentication checks of a successful CONNACK: `Some` violation if it breaks them.
    pub(crate) fn connack_auth_violation(&self, props: (usize, usize)) -> Option<Violation> {
        let auth = &self.v5.auth;
        let p = super::props_at(self.rx.as_ref(), props, PacketType::ConnAck);
        if !auth.on {
            // [MQTT-4.12.0-6]: no Authentication Method in CONNACK without one in CONNECT.
            return p
                .authentication_method()
                .is_some()
                .then_some(Violation::UnexpectedAuth);
        }
        if auth.step == Step::Application {
            return Some(Violation::AuthBeforeAnswer);
        }
        (!auth.same_method(&p)).then_some(Violation::AuthMethodMismatch)
    }
}
