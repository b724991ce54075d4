//! The 5.0 half of the `session` target: a [`Session`] on MQTT 5.0 connections.
//!
//! Selected by the first input byte [`crate::session::V5`]; the rest is the 3.1.1 setup
//! (window, queue, timeouts, size limit, buffer sizes, store kind, resend policy), a 5.0 setup
//! ([`SetupV5`]: the Receive Maximum, Maximum Packet Size, Topic Alias Maximum, Maximum QoS,
//! Retain Available and availability flags of the cooperative broker's CONNACK; our Receive
//! Maximum, Maximum Packet Size and Topic Alias Maximum for CONNECT;
//! `Config::outgoing_topic_aliases`, offline publishing, a byte bound on held messages), then
//! operations. The operations are those of the 3.1.1 half (same numbers), with the 5.0
//! commands and packets in place of connect, publish, subscribe, disconnect and broker
//! packets: `connect` with `ConnectOptionsV5` (session expiry, limits, will properties, and
//! sometimes what the session must refuse), `publish_with` (QoS 0/1/2, properties, sometimes
//! invalid ones), `subscribe_with` and `subscribe` (options, a Subscription Identifier, shared
//! filters),
//! `disconnect_with` (any reason code, session expiry, reason string), broker packets built
//! from the input (CONNACK with reason codes and properties, PUBLISH with topic aliases and
//! properties, PUBACK/PUBREC/PUBREL/PUBCOMP with reason codes of 0x80 or more, SUBACK/UNSUBACK
//! with per-filter codes, DISCONNECT, AUTH, PINGRESP, packets a client never receives), and a
//! cooperative broker that answers what the client sent with the setup's CONNACK.
//!
//! Checked after every step, besides everything the 3.1.1 half checks that 5.0 keeps (the
//! store contract, packet ids, the window, `poll_transmit` bounds, every accepted publish
//! reported once or held, one `Connected` at most and one `Disconnected` per connection,
//! progress):
//!
//! - what the client sends, decoded with `mqtt_proto::v5::Decoder`: CONNECT first, nothing
//!   after DISCONNECT, only packets a client may send (AUTH only after a CONNECT with an
//!   Authentication Method [MQTT-4.12.0-7]);
//! - never more QoS 1/2 PUBLISH packets unacknowledged on a connection than the broker's
//!   Receive Maximum [MQTT-3.3.4-7, MQTT-4.9.0-2], an acknowledgement counting only once its
//!   bytes were fed whole to the session, and no PUBLISH sent twice on one connection while
//!   unacknowledged [MQTT-4.4.0-1];
//! - once the session holds the CONNACK's limits, no packet above the broker's Maximum Packet
//!   Size [MQTT-3.2.2-15], no PUBLISH above its Maximum QoS [MQTT-3.2.2-11], no RETAIN when
//!   Retain Available is 0 [MQTT-3.2.2-14], no Subscription Identifier in PUBLISH
//!   [MQTT-3.3.4-6], no SUBSCRIBE with a wildcard, shared filter or Subscription Identifier
//!   the broker does not offer; `Session::server_limits` is what the CONNACK said;
//! - an outgoing Topic Alias is between 1 and the broker's Topic Alias Maximum
//!   [MQTT-3.2.2-17, MQTT-3.3.2-9], an empty topic only with an alias set earlier on the same
//!   connection [MQTT-3.3.2-7]; a PUBLISH carries the topic, payload and properties it was
//!   published with (resolved through the alias), QoS 0 ones in command order;
//! - a PUBREL only to answer a PUBREC below 0x80 on this connection, or once when resuming a
//!   released message [MQTT-4.3.3-4]: never after a PUBREC of 0x80 or more;
//! - a DISCONNECT from the client only with a reason code a client may send (section
//!   3.14.2.1), and no Session Expiry Interval above 0 in it when the CONNECT's was 0 (section
//!   3.14.2.2.2);
//! - a delivered message is one the broker sent, in order, with the topic the broker meant (an
//!   alias resolved as the broker set it on this connection) and its properties; a packet
//!   that must end the connection (a Topic Alias above our maximum or never set, a packet
//!   above our Maximum Packet Size or the receive limit, malformed bytes, a packet a client
//!   never receives, ...) ends it before anything after it is delivered;
//! - every `Event::Response` is a packet the broker sent, followed by the event of its
//!   outcome; a `Disconnected` reason names what happened (`RefusedV5` and `Server` with the
//!   broker's code, a `ProtocolViolation` only for what the broker did).

mod commands;
mod events;
mod fed;
mod model;
#[cfg(test)]
pub(crate) mod scripts;
mod sent;

use arbitrary::Unstructured;
use mqtt_session::{State, Store};

pub(crate) use events::EventV5;
pub(crate) use model::Model;
use model::SetupV5;

use crate::input::In;
use crate::session::{Harness, Setup, trace};

/// The 5.0 half of the `session` target (the input after the selector byte).
pub fn session_v5(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut r = In::new(&mut u);
    let mut setup = Setup::read(&mut r);
    let v5 = SetupV5::read(&mut r, &mut setup);
    trace!("5.0 setup {v5:?}, {:?}", setup.config);
    crate::session::run_setup(&setup, &mut r, Some(Box::new(Model::new(v5))));
}

impl<S: Store + Default> Harness<S> {
    pub(crate) fn model(&mut self) -> &mut Model {
        match &mut self.v5 {
            Some(m) => m,
            None => panic!("a 5.0 step on the 3.1.1 path"),
        }
    }

    /// The 5.0 version of operation `op`; false for those the 3.1.1 half does alike.
    pub(crate) fn step_v5(&mut self, op: u8, r: &mut In<'_, '_>) -> bool {
        match op {
            2 => self.connect_v5(r),
            3 => self.publish_v5(r),
            4 => self.subscribe_v5(r),
            6 => self.disconnect_v5(r),
            7 => {
                self.broker_packet_v5(r);
                self.feed(usize::MAX);
            }
            _ => return false,
        }
        true
    }

    /// 5.0 invariants that hold after every step.
    pub(crate) fn check_v5(&mut self) {
        let limits = self.session.server_limits();
        let inflight = self.session.inflight();
        let window = self.window;
        let m = self.model();
        let Some(l) = limits else {
            return;
        };
        let c = m.cur();
        let Some(v) = c.accepted().copied() else {
            panic!("server limits {l:?} without an accepting CONNACK fed");
        };
        assert_eq!(
            (
                l.receive_maximum,
                l.maximum_packet_size,
                l.topic_alias_maximum,
                l.maximum_qos,
                l.retain_available
            ),
            (
                v.receive_maximum,
                v.maximum_packet_size,
                v.topic_alias_maximum,
                v.maximum_qos,
                v.retain_available
            ),
            "the server limits are not the CONNACK's"
        );
        assert_eq!(
            (
                l.wildcard_subscription_available,
                l.subscription_identifiers_available,
                l.shared_subscription_available,
                l.keep_alive,
            ),
            (
                v.wildcard,
                v.subscription_identifiers,
                v.shared,
                v.keep_alive
            ),
            "the server limits are not the CONNACK's"
        );
        let expiry = c.expiry_override.unwrap_or(v.session_expiry);
        assert_eq!(l.session_expiry_interval, expiry, "session expiry in force");
        let rm = usize::from(l.receive_maximum.max(1));
        assert!(
            inflight <= window.min(rm),
            "{inflight} in flight, window {window}, Receive Maximum {rm}"
        );
    }

    /// After a drain (nothing to poll, nothing to send): a connection fed a packet that must
    /// end it has ended.
    pub(crate) fn drained_v5(&mut self) {
        let active = matches!(
            self.session.state(),
            State::Connecting | State::Connected | State::Disconnecting
        );
        let m = self.model();
        let cur = m.cur;
        let c = m.cur();
        if let Some(why) = c.broke.must_end {
            assert!(
                !active,
                "connection {cur} still up after the broker sent {why}"
            );
        }
    }
}
