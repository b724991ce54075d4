//! The client's side: what the session writes on a 5.0 connection, decoded and checked, and
//! what a cooperative broker answers to it.

use mqtt_proto::v5::{
    ConnAck, ConnectReasonCode, Decoder, Packet, PacketType, Properties, PropertyId,
    PubAckReasonCode, PubCompReasonCode, PubRecReasonCode, PubResponse, ReasonCodes, SubAck,
    UnsubAck,
};
use mqtt_proto::{PacketId, QoS, QosPid};
use mqtt_session::{OutgoingState, Store};

use super::fed::encode_v5;
use super::model::{CLIENT_DISCONNECT_CODES, Flow, without_alias};
use crate::session::{Harness, Request};

/// Packet types a client may send (section 2.1.2).
fn client_may_send(t: PacketType) -> bool {
    matches!(
        t,
        PacketType::Connect
            | PacketType::Publish
            | PacketType::PubAck
            | PacketType::PubRec
            | PacketType::PubRel
            | PacketType::PubComp
            | PacketType::Subscribe
            | PacketType::Unsubscribe
            | PacketType::PingReq
            | PacketType::Disconnect
            | PacketType::Auth
    )
}

fn success<R>(id: PacketId, code: R) -> PubResponse<'static, R> {
    PubResponse {
        packet_id: id,
        reason_code: code,
        properties: Properties::EMPTY,
    }
}

impl<S: Store + Default> Harness<S> {
    /// The client's bytes on a 5.0 connection: whole valid packets, in a valid order, within
    /// the broker's limits once the session has them (`limits_known`).
    pub(crate) fn check_sent_v5(&mut self, mut bytes: &[u8], limits_known: bool) {
        let decoder = Decoder::new();
        while !bytes.is_empty() {
            let (packet, used) = match decoder.decode(bytes) {
                Ok(Some(x)) => x,
                other => panic!("the client sent {bytes:02X?}: {other:?}"),
            };
            bytes = bytes.get(used..).unwrap_or_default();
            let ty = packet.packet_type();
            assert!(client_may_send(ty), "the client sent {ty}");
            assert!(!self.wire.disconnect_sent, "{ty} sent after DISCONNECT");
            if let Packet::Connect(c) = &packet {
                assert!(!self.wire.connect_sent, "a second CONNECT");
                self.wire.connect_sent = true;
                let setup = self.model().setup;
                let conn = self.model().cur();
                let p = &c.properties;
                assert_eq!(
                    (
                        p.receive_maximum().unwrap_or(u16::MAX),
                        p.maximum_packet_size(),
                        p.topic_alias_maximum().unwrap_or(0),
                        p.session_expiry_interval().unwrap_or(0),
                        c.clean_start,
                    ),
                    (
                        conn.our_receive_maximum,
                        conn.our_maximum_packet_size,
                        conn.our_topic_alias_maximum,
                        conn.connect_session_expiry,
                        conn.clean_start,
                    ),
                    "CONNECT is not what connect asked for"
                );
                conn.wire_connect = Some((
                    conn.connect_session_expiry,
                    p.contains(PropertyId::AuthenticationMethod),
                ));
                let kept = !c.clean_start && !conn.no_session;
                let mut props = Vec::new();
                setup.server.push_props(&mut props);
                self.to_answer
                    .push_back(encode_v5(&Packet::ConnAck(ConnAck {
                        // A broker keeps the session only while it has not ended.
                        session_present: kept,
                        reason_code: ConnectReasonCode::Success,
                        properties: Properties::new(&props),
                    })));
                continue;
            }
            // [MQTT-3.1.0-1], even when the broker answers before CONNECT is written.
            assert!(self.wire.connect_sent, "{ty} before CONNECT");
            if limits_known {
                let max = self
                    .model()
                    .cur()
                    .accepted()
                    .and_then(|v| v.maximum_packet_size);
                if let Some(max) = max {
                    assert!(
                        usize::try_from(max).is_ok_and(|m| used <= m),
                        "a {used}-byte {ty} above the broker's Maximum Packet Size {max} \
                         [MQTT-3.2.2-15]"
                    );
                }
            }
            match packet {
                Packet::Publish(p) => self.sent_publish_v5(&p),
                Packet::PubAck(r) => {
                    let unacked = &mut self.model().cur().broker_unacked_qos1;
                    let id = r.packet_id.get();
                    if let Some(n) = unacked.get_mut(&id) {
                        *n -= 1;
                        if *n == 0 {
                            unacked.remove(&id);
                        }
                    }
                }
                Packet::PubComp(r) => {
                    self.model().cur().broker_unacked_qos2.remove(&r.packet_id.get());
                }
                Packet::PubRec(r) if r.reason_code.as_u8() >= 0x80 => {
                    self.model().cur().broker_unacked_qos2.remove(&r.packet_id.get());
                }
                Packet::PubRel(r) => {
                    let id = r.packet_id;
                    let held = self.session.store().outgoing_position(id);
                    let window = self.window_v5();
                    if let Some(i) = held {
                        assert!(i < window, "PUBREL {} outside the window", id.get());
                    }
                    let released = held
                        .and_then(|i| self.session.store().outgoing(i))
                        .is_some_and(|m| m.state == OutgoingState::Released);
                    let c = self.model().cur();
                    let n = id.get();
                    match c.pubrel_credit.get_mut(&n) {
                        Some(k) if *k > 0 => *k -= 1,
                        _ => assert!(
                            released && !c.published_q2.contains(&n) && c.resumed_pubrel.insert(n),
                            "PUBREL {n} answers no PUBREC below 0x80 on this connection \
                             [MQTT-4.3.3-4]"
                        ),
                    }
                    self.to_answer.push_back(encode_v5(&Packet::PubComp(success(
                        id,
                        PubCompReasonCode::Success,
                    ))));
                }
                Packet::Subscribe(s) => {
                    let id = s.packet_id.get();
                    let n = s.filters.len();
                    match self.issued.get(&id) {
                        Some((Request::Subscribe(k), c)) if *c == self.conn_no => {
                            assert_eq!(*k, n, "SUBSCRIBE {id} filters");
                        }
                        other => panic!("SUBSCRIBE {id} sent for {other:?}"),
                    }
                    let conn_no = self.conn_no;
                    if let Some(v) = self.model().cur().accepted().copied() {
                        // Section 3.2.2.3: what the broker does not offer is a Protocol Error.
                        for (f, _) in s.filters.iter() {
                            let f = f.as_str();
                            assert!(
                                v.wildcard || !f.contains(['+', '#']),
                                "SUBSCRIBE to {f:?}, Wildcard Subscription Available is 0"
                            );
                            assert!(
                                v.shared || !f.starts_with("$share/"),
                                "SUBSCRIBE to {f:?}, Shared Subscription Available is 0"
                            );
                        }
                        assert!(
                            v.subscription_identifiers
                                || !s.properties.contains(PropertyId::SubscriptionIdentifier),
                            "a Subscription Identifier, Subscription Identifier Available is 0"
                        );
                    }
                    if let Some(d) = self.model().subs.get(&id).filter(|d| d.conn == conn_no) {
                        let sent: Vec<(String, u8)> = s
                            .filters
                            .iter()
                            .map(|(f, o)| (f.as_str().to_owned(), o.as_u8()))
                            .collect();
                        assert_eq!(sent, d.filters, "SUBSCRIBE {id} filters and options");
                        let props = s.properties.wire_bytes().unwrap_or_default();
                        assert_eq!(props, &d.props[..], "SUBSCRIBE {id} properties");
                    }
                    let codes: Vec<u8> = s.filters.iter().map(|(_, o)| o.qos.as_u8()).collect();
                    if let Ok(reason_codes) = ReasonCodes::new(&codes) {
                        self.to_answer.push_back(encode_v5(&Packet::SubAck(SubAck {
                            packet_id: s.packet_id,
                            properties: Properties::EMPTY,
                            reason_codes,
                        })));
                    }
                }
                Packet::Unsubscribe(u) => {
                    let id = u.packet_id.get();
                    let n = u.filters.len();
                    match self.issued.get(&id) {
                        Some((Request::Unsubscribe(k), c)) if *c == self.conn_no => {
                            assert_eq!(*k, n, "UNSUBSCRIBE {id} filters");
                        }
                        other => panic!("UNSUBSCRIBE {id} sent for {other:?}"),
                    }
                    let codes = vec![0x00; n];
                    if let Ok(reason_codes) = ReasonCodes::new(&codes) {
                        self.to_answer
                            .push_back(encode_v5(&Packet::UnsubAck(UnsubAck {
                                packet_id: u.packet_id,
                                properties: Properties::EMPTY,
                                reason_codes,
                            })));
                    }
                }
                Packet::PingReq => self.to_answer.push_back(encode_v5(&Packet::PingResp)),
                Packet::Disconnect(d) => {
                    let code = d.reason_code.as_u8();
                    assert!(
                        CLIENT_DISCONNECT_CODES.contains(&code),
                        "the client sent DISCONNECT with 0x{code:02X}, a server's reason code \
                         (section 3.14.2.1)"
                    );
                    let connect_expiry = self.model().cur().wire_connect.map(|(e, _)| e);
                    if let Some(e) = d.properties.session_expiry_interval() {
                        assert!(
                            e == 0 || connect_expiry.is_some_and(|c| c > 0),
                            "DISCONNECT with a Session Expiry Interval of {e} after a CONNECT \
                             with 0 (section 3.14.2.2.2)"
                        );
                    }
                    self.wire.disconnect_sent = true;
                    self.model().stats.client_disconnects += 1;
                }
                Packet::Auth(_) => {
                    let auth = self.model().cur().wire_connect.is_some_and(|(_, a)| a);
                    assert!(
                        auth,
                        "AUTH without an Authentication Method [MQTT-4.12.0-7]"
                    );
                }
                _ => {}
            }
        }
    }

    /// The in-flight window on this 5.0 connection: the configured one, at most the broker's
    /// Receive Maximum as the session holds it.
    pub(crate) fn window_v5(&self) -> usize {
        let rm = self
            .session
            .server_limits()
            .map_or(usize::from(u16::MAX), |l| {
                usize::from(l.receive_maximum.max(1))
            });
        self.window.min(rm)
    }

    /// A PUBLISH the client sent.
    fn sent_publish_v5(&mut self, p: &mqtt_proto::v5::Publish<'_>) {
        let qos = p.qos_pid.qos();
        let window = self.window_v5();
        let c = self.model().cur();
        let Some(view) = c.accepted().copied() else {
            panic!("PUBLISH before an accepting CONNACK was fed");
        };
        assert!(
            qos.as_u8() <= view.maximum_qos.as_u8(),
            "a QoS {} PUBLISH above the broker's Maximum QoS [MQTT-3.2.2-11]",
            qos.as_u8()
        );
        assert!(
            !p.retain || view.retain_available,
            "RETAIN with Retain Available 0 [MQTT-3.2.2-14]"
        );
        assert!(
            !p.properties.contains(PropertyId::SubscriptionIdentifier),
            "a Subscription Identifier in PUBLISH [MQTT-3.3.4-6]"
        );
        let alias = p.properties.topic_alias();
        if let Some(a) = alias {
            assert!(
                a >= 1 && a <= view.topic_alias_maximum,
                "Topic Alias {a} above the broker's maximum {} [MQTT-3.2.2-17]",
                view.topic_alias_maximum
            );
        }
        let topic = match (p.topic, alias) {
            (Some(t), None) => t.as_str().to_owned(),
            (Some(t), Some(a)) => {
                c.aliases_out.insert(a, t.as_str().to_owned());
                t.as_str().to_owned()
            }
            (None, Some(a)) => match c.aliases_out.get(&a) {
                Some(t) => t.clone(),
                None => panic!("Topic Alias {a} used, never set on this connection [MQTT-3.3.2-7]"),
            },
            (None, None) => panic!("a PUBLISH without a topic"),
        };
        let props = without_alias(&p.properties);
        let (set, used) = match (p.topic, alias) {
            (Some(_), Some(_)) => (1, 0),
            (None, Some(_)) => (0, 1),
            _ => (0, 0),
        };
        let id = match p.qos_pid {
            QosPid::AtMostOnce => {
                let expected = c.qos0.pop_front();
                let m = self.model();
                m.stats.aliases_out_set += set;
                m.stats.aliases_out_used += used;
                let Some(e) = expected else {
                    panic!("a QoS 0 PUBLISH to {topic:?} that was not published");
                };
                assert_eq!(
                    (e.retain, e.topic.as_str(), &e.payload[..], &e.props[..]),
                    (p.retain, topic.as_str(), p.payload, &props[..]),
                    "QoS 0 PUBLISH content (in command order)"
                );
                return;
            }
            QosPid::AtLeastOnce(id) | QosPid::ExactlyOnce(id) => id,
        };
        let n = id.get();
        assert!(
            !c.unacked.contains_key(&n),
            "PUBLISH {n} sent twice on one connection while unacknowledged [MQTT-4.4.0-1]"
        );
        let rm = usize::from(view.receive_maximum);
        assert!(
            c.unacked.len() < rm,
            "a QoS {} PUBLISH with {} unacknowledged, the broker's Receive Maximum is {rm} \
             [MQTT-3.3.4-7]",
            qos.as_u8(),
            c.unacked.len()
        );
        let flow = if qos == QoS::ExactlyOnce {
            c.published_q2.insert(n);
            c.pubrel_credit.remove(&n);
            Flow::ExactlyOnce
        } else {
            Flow::AtLeastOnce
        };
        c.unacked.insert(n, flow);
        let full = c.unacked.len() == rm;
        let m = self.model();
        m.stats.receive_maximum_full += usize::from(full);
        let i = self.session.store().outgoing_position(id);
        assert!(
            i.is_some_and(|i| i < window),
            "PUBLISH {n} sent at store index {i:?}, window {window}"
        );
        match self.published.get(&n) {
            Some(m) => {
                assert_eq!(
                    (m.qos, m.retain, m.topic.as_str(), &m.payload[..]),
                    (qos, p.retain, topic.as_str(), p.payload),
                    "PUBLISH {n} content"
                );
                same_properties_counted_down(&m.props, &props, n);
            }
            None => panic!("PUBLISH {n} which was never published"),
        }
        let answer = if qos == QoS::ExactlyOnce {
            Packet::PubRec(success(id, PubRecReasonCode::Success))
        } else {
            Packet::PubAck(success(id, PubAckReasonCode::Success))
        };
        self.to_answer.push_back(encode_v5(&answer));
    }
}

/// The properties a held PUBLISH goes out with are the ones published, in order, but for the
/// Message Expiry Interval, which is what is left: never more than published.
fn same_properties_counted_down(published: &[u8], sent: &[u8], n: u16) {
    use mqtt_proto::v5::{Property, PropertyContext};
    fn read(b: &[u8]) -> Vec<Property<'_>> {
        Properties::from_wire(b, PropertyContext::Publish)
            .map(|p| p.iter().collect())
            .unwrap_or_default()
    }
    let (a, b) = (read(published), read(sent));
    assert_eq!(
        a.len(),
        b.len(),
        "PUBLISH {n} properties: {a:?} sent as {b:?}"
    );
    for (x, y) in a.iter().zip(&b) {
        match (x, y) {
            (Property::MessageExpiryInterval(was), Property::MessageExpiryInterval(left)) => {
                assert!(
                    left <= was,
                    "PUBLISH {n} expiry {left} above the {was} published"
                );
            }
            _ => assert_eq!(x, y, "PUBLISH {n} properties: {a:?} sent as {b:?}"),
        }
    }
}
