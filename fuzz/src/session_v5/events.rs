//! The events of a 5.0 session, checked against what the broker sent.

use mqtt_proto::QoS;
use mqtt_session::{DisconnectReason, Event, Store, Violation};

use super::fed::{T_CONNACK, T_DISCONNECT, T_PUBACK, T_PUBCOMP, T_PUBREC, T_SUBACK, T_UNSUBACK};
use super::model::{Broke, ConnV5, Model};
use crate::session::Harness;

/// An `Event::Response`, copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResponseV5 {
    /// 5.0 packet type number.
    pub(crate) ty: u8,
    pub(crate) id: Option<u16>,
    pub(crate) codes: Vec<u8>,
    pub(crate) has_props: bool,
}

/// What the 5.0 checks need from an event (which borrows the session).
#[derive(Debug, Clone)]
pub(crate) enum EventV5 {
    Response(ResponseV5),
    Connected,
    Acknowledged(u16),
    Completed(u16),
    Rejected {
        id: u16,
        code: u8,
    },
    Subscribed {
        id: u16,
        codes: Vec<u8>,
    },
    Unsubscribed(u16),
    Message {
        qos: QoS,
        id: Option<u16>,
        dup: bool,
        retain: bool,
        topic: String,
        payload: Vec<u8>,
        props: Vec<u8>,
    },
    Disconnected(DisconnectReason),
    /// Events without a 5.0 side (and variants added later).
    Other,
}

impl EventV5 {
    pub(crate) fn of(e: &Event<'_>) -> EventV5 {
        match e {
            Event::Response(r) => EventV5::Response(ResponseV5 {
                ty: r.packet_type as u8,
                id: r.packet_id.map(|id| id.get()),
                codes: r.reason_codes.to_vec(),
                has_props: !r.properties.is_empty(),
            }),
            Event::Connected { .. } => EventV5::Connected,
            Event::PublishAcknowledged { packet_id } => EventV5::Acknowledged(packet_id.get()),
            Event::PublishCompleted { packet_id } => EventV5::Completed(packet_id.get()),
            Event::PublishRejected {
                packet_id,
                reason_code,
            } => EventV5::Rejected {
                id: packet_id.get(),
                code: reason_code.as_u8(),
            },
            Event::Subscribed { packet_id, results } => EventV5::Subscribed {
                id: packet_id.get(),
                codes: results.as_bytes().to_vec(),
            },
            Event::Unsubscribed { packet_id } => EventV5::Unsubscribed(packet_id.get()),
            Event::Message(m) => EventV5::Message {
                qos: m.qos,
                id: m.packet_id.map(|id| id.get()),
                dup: m.dup,
                retain: m.retain,
                topic: m.topic.to_owned(),
                payload: m.payload.to_vec(),
                props: m
                    .properties
                    .wire_bytes()
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default(),
            },
            Event::Disconnected { reason } => EventV5::Disconnected(*reason),
            _ => EventV5::Other,
        }
    }
}

/// Whether `e` is the outcome of `r`, the Response just before it (panics when `r` needs an
/// outcome and `e` is not it).
fn outcome(r: &ResponseV5, e: &EventV5) -> bool {
    let code = r.codes.first().copied().unwrap_or(0);
    let id = r.id.unwrap_or(0);
    let ok = match r.ty {
        T_CONNACK if code < 0x80 => matches!(
            e,
            EventV5::Connected
                | EventV5::Disconnected(DisconnectReason::ProtocolViolation(
                    Violation::SessionPresentWithCleanSession
                        | Violation::SessionPresentWithoutSession
                        | Violation::AuthMethodMismatch
                        | Violation::UnexpectedAuth
                        | Violation::AuthBeforeAnswer
                ))
        ),
        T_CONNACK => matches!(
            e,
            EventV5::Disconnected(DisconnectReason::RefusedV5(c)) if c.as_u8() == code
        ),
        T_PUBACK if code < 0x80 => matches!(e, EventV5::Acknowledged(i) if *i == id),
        T_PUBACK | T_PUBREC if code >= 0x80 => {
            matches!(e, EventV5::Rejected { id: i, code: c } if *i == id && *c == code)
        }
        // A PUBREC below 0x80 has no event of its own.
        T_PUBREC => return false,
        T_PUBCOMP => matches!(e, EventV5::Completed(i) if *i == id),
        T_SUBACK => {
            matches!(e, EventV5::Subscribed { id: i, codes } if *i == id && *codes == r.codes)
        }
        T_UNSUBACK => matches!(e, EventV5::Unsubscribed(i) if *i == id),
        T_DISCONNECT => {
            matches!(
                e,
                EventV5::Disconnected(DisconnectReason::Server(c)) if c.as_u8() == code
            ) || matches!(
                e,
                EventV5::Disconnected(DisconnectReason::ProtocolViolation(
                    Violation::SessionExpiryInServerDisconnect
                ))
            )
        }
        _ => panic!("a Response for packet type {}", r.ty),
    };
    assert!(ok, "{r:?} followed by {e:?}, not its outcome");
    true
}

/// Remove a fed acknowledgement of type `ty` for `id` with these codes (and properties or not,
/// when `props` says); false when the broker sent none.
fn take_ack(c: &mut ConnV5, ty: u8, id: u16, codes: &[u8], props: Option<bool>) -> bool {
    let Some(q) = c.acks.get_mut(&(ty, id)) else {
        return false;
    };
    match q
        .iter()
        .position(|a| a.codes == codes && props.is_none_or(|p| a.has_props == p))
    {
        Some(i) => {
            q.remove(i);
            true
        }
        None => false,
    }
}

/// Whether the broker did what `v` names.
fn justified(b: &Broke, v: &Violation) -> bool {
    match v {
        Violation::Malformed(_) => b.malformed,
        Violation::UnexpectedPacket(_) => b.unexpected,
        Violation::ConnAckNotFirst(_) => b.connack_not_first,
        Violation::DuplicateConnAck => b.duplicate_connack,
        Violation::SessionPresentWithCleanSession => b.session_present_clean,
        Violation::SessionPresentWithoutSession => b.session_present_without_session,
        Violation::UnexpectedAuth
        | Violation::AuthMethodMismatch
        | Violation::AuthBeforeAnswer
        | Violation::AuthSuccessBeforeConnAck
        | Violation::ReAuthenticateFromServer
        | Violation::UnsolicitedAuth(_) => b.auth,
        Violation::ReceiveMaximumExceeded => b.receive_maximum_exceeded,
        Violation::TopicAliasInvalid(a) => b.alias_invalid.contains(a),
        Violation::UnknownTopicAlias(a) => b.alias_unknown.contains(a),
        Violation::SessionExpiryInServerDisconnect => b.session_expiry_in_disconnect,
        Violation::UnexpectedSubAck(_)
        | Violation::SubAckCountMismatch { .. }
        | Violation::UnexpectedUnsubAck(_)
        | Violation::UnsubAckCountMismatch { .. } => b.sub_acks,
        // Added later: not modelled.
        _ => true,
    }
}

impl Model {
    /// The connection an event belongs to.
    fn conn(&mut self, no: Option<usize>, e: &EventV5) -> &mut ConnV5 {
        let Some(no) = no else {
            panic!("{e:?} without a connection");
        };
        match self.conns.get_mut(&no) {
            Some(c) => c,
            None => panic!("{e:?} on connection {no}, which the model does not know"),
        }
    }
}

impl<S: Store + Default> Harness<S> {
    /// The 5.0 checks of one event, before the common ones.
    pub(crate) fn event_v5(&mut self, e: EventV5) {
        let no = self.conns.front().map(|c| c.no);
        let rejected_qos = match &e {
            EventV5::Rejected { id, .. } => self.published.get(id).map(|p| p.qos),
            _ => None,
        };
        let m = self.model();
        let answered = match m.pending.take() {
            Some(r) => outcome(&r, &e),
            None => false,
        };
        match e {
            EventV5::Response(r) => {
                let c = m.conn(no, &EventV5::Response(r.clone()));
                let id = r.id.unwrap_or(0);
                assert!(
                    take_ack(c, r.ty, id, &r.codes, Some(r.has_props)),
                    "{r:?}, which the broker did not send"
                );
                m.stats.responses += 1;
                m.stats.error_responses += usize::from(r.codes.iter().any(|c| *c >= 0x80));
                m.pending = Some(r);
            }
            EventV5::Connected => {
                assert!(answered, "Connected without a CONNACK Response");
                m.stats.connected += 1;
                if m.conn(no, &e).connack.is_some_and(|v| v.session_present) {
                    m.stats.resumed += 1;
                }
            }
            EventV5::Acknowledged(id) => {
                if !answered {
                    let c = m.conn(no, &e);
                    assert!(
                        take_ack(c, T_PUBACK, id, &[0], Some(false)),
                        "PublishAcknowledged {id} without a PUBACK"
                    );
                }
                m.stats.acknowledged += 1;
            }
            EventV5::Completed(id) => {
                if !answered {
                    let c = m.conn(no, &e);
                    assert!(
                        take_ack(c, T_PUBCOMP, id, &[0], Some(false)),
                        "PublishCompleted {id} without a PUBCOMP"
                    );
                }
                m.stats.completed += 1;
            }
            EventV5::Rejected { id, code } => {
                assert!(answered, "PublishRejected {id} without a Response");
                assert!(code >= 0x80, "PublishRejected {id} with 0x{code:02X}");
                assert!(rejected_qos.is_some(), "PublishRejected {id}, not held");
                m.stats.rejected += 1;
            }
            EventV5::Subscribed { id, ref codes } => {
                if !answered {
                    let c = m.conn(no, &e);
                    assert!(
                        take_ack(c, T_SUBACK, id, codes, Some(false)),
                        "Subscribed {id} {codes:02X?} without that SUBACK"
                    );
                }
                m.stats.subscribed += 1;
            }
            EventV5::Unsubscribed(id) => {
                // An UNSUBACK is always reported as a Response first.
                assert!(answered, "Unsubscribed {id} without an UNSUBACK Response");
                m.stats.unsubscribed += 1;
            }
            EventV5::Message {
                qos,
                id,
                dup,
                retain,
                ref topic,
                ref payload,
                ref props,
            } => {
                let c = m.conn(no, &e);
                let found = c.expected.iter().position(|x| {
                    (x.qos, x.packet_id, x.dup, x.retain, &x.payload, &x.props)
                        == (qos, id, dup, retain, payload, props)
                });
                let Some(i) = found else {
                    panic!("{e:?}: the broker sent no such message (or it was delivered)");
                };
                for skipped in c.expected.drain(..i) {
                    // Only a QoS 2 message the session holds the id of is not delivered.
                    assert!(
                        skipped.qos == QoS::ExactlyOnce || skipped.topic.is_none(),
                        "{skipped:?} was not delivered, a later message was"
                    );
                }
                let Some(x) = c.expected.pop_front() else {
                    panic!("the expected message vanished");
                };
                match &x.topic {
                    Some(t) => assert_eq!(t, topic, "the message's topic is not the broker's"),
                    None => panic!(
                        "{e:?} delivered after the broker sent {:?}, which must end the \
                         connection",
                        c.broke.must_end
                    ),
                }
                m.stats.messages += 1;
                m.stats.messages_via_alias += usize::from(x.via_alias);
            }
            EventV5::Disconnected(reason) => {
                let cur = m.cur;
                let c = m.conn(no, &e);
                match reason {
                    DisconnectReason::Refused(_) => panic!("a 3.1.1 refusal on 5.0: {reason:?}"),
                    DisconnectReason::RefusedV5(_) | DisconnectReason::Server(_) => {
                        assert!(answered, "{reason:?} without its Response");
                    }
                    DisconnectReason::ProtocolViolation(v) => {
                        assert!(
                            justified(&c.broke, &v),
                            "{v:?}, which the broker did not do: {:?}",
                            c.broke
                        );
                    }
                    DisconnectReason::IncomingPacketTooLarge => assert!(
                        c.broke.too_large || c.broke.above_our_maximum,
                        "IncomingPacketTooLarge without such a packet"
                    ),
                    _ => {}
                }
                // The session outlives the connection only with a Session Expiry Interval
                // above 0 in force at its end [MQTT-3.1.2-23]: the CONNACK's (or the
                // CONNECT's), or the one a DISCONNECT of ours set.
                let accepted = c.connack.filter(|v| v.code < 0x80);
                let expiry = c.expiry_override.unwrap_or(match accepted {
                    Some(v) => v.session_expiry,
                    None => c.connect_session_expiry,
                });
                if expiry == 0 {
                    // Once ended since the last restart: the next sessions may or may not
                    // exist (see `no_session`).
                    m.session_ended = true;
                }
                match reason {
                    DisconnectReason::RefusedV5(_) => m.stats.refused += 1,
                    DisconnectReason::Server(_) => m.stats.server_disconnects += 1,
                    DisconnectReason::ProtocolViolation(_) => m.stats.violations += 1,
                    _ => {}
                }
                if let Some(n) = no.filter(|n| *n != cur) {
                    m.conns.remove(&n);
                }
            }
            EventV5::Other => {}
        }
    }
}
