//! The 5.0 commands: connect, publish_with, subscribe_with (and subscribe), disconnect_with,
//! with what each must accept and refuse.

use mqtt_proto::QoS;
use mqtt_proto::v5::{
    DisconnectReasonCode, Properties, Property, PropertyContext, PropertyId, RetainHandling,
    SubscriptionOptions,
};
use mqtt_session::{
    CommandError, ConnectOptions, ConnectOptionsV5, DisconnectOptions, LastWill, ProtocolVersion,
    State, Store,
};

use super::model::{
    CLIENT_DISCONNECT_CODES, ConnV5, DISCONNECT_CODES, SHARED, SubDetails, props_bytes,
    read_maximum_packet_size, read_receive_maximum, read_topic_alias_maximum, text,
};
use crate::input::In;
use crate::session::{Conn, Harness, Published, Request, Wire, pid, qos_of, trace};

/// What a connect asked for, for the checks.
struct Asked {
    auth: bool,
    will_props_without_will: bool,
}

impl<S: Store + Default> Harness<S> {
    pub(super) fn connect_v5(&mut self, r: &mut In<'_, '_>) {
        let flags = r.u8();
        let keep_alive = u16::from(r.u8());
        let expiry = match r.u8() % 6 {
            0 => None,
            1 => Some(0),
            2 => Some(10),
            3 => Some(u32::MAX),
            4 => Some(u32::from(r.u8())),
            _ => Some(1),
        };
        let extra = r.u8();
        let setup = self.model().setup;
        let (mut rm, mut mps, mut tam) = (
            setup.receive_maximum,
            setup.maximum_packet_size,
            setup.topic_alias_maximum,
        );
        if extra & 8 != 0 {
            rm = read_receive_maximum(r);
            mps = read_maximum_packet_size(r);
            tam = read_topic_alias_maximum(r);
        }
        let will_topic = Self::topic(r);
        let will_payload = r.bytes();
        let user_value = text(r);
        let mut props = Vec::new();
        if let Some(e) = expiry {
            props.push(Property::SessionExpiryInterval(e));
        }
        if let Some(v) = rm {
            props.push(Property::ReceiveMaximum(v));
        }
        if let Some(v) = mps {
            props.push(Property::MaximumPacketSize(v));
        }
        if let Some(v) = tam {
            props.push(Property::TopicAliasMaximum(v));
        }
        if extra & 1 != 0 {
            props.push(Property::RequestProblemInformation(extra & 0x40 != 0));
        }
        if extra & 2 != 0 {
            props.push(Property::UserProperty("k", user_value));
        }
        if extra & 0x10 != 0 {
            // Enhanced authentication, which the session refuses for now.
            props.push(Property::AuthenticationMethod("SCRAM-SHA-1"));
        }
        let will = flags & 2 != 0;
        let mut will_props = Vec::new();
        if extra & 4 != 0 {
            will_props.push(Property::WillDelayInterval(u32::from(keep_alive)));
            will_props.push(Property::PayloadFormatIndicator(true));
        }
        if extra & 0x20 != 0 {
            will_props.push(Property::ContentType("text/plain"));
        }
        let asked = Asked {
            auth: extra & 0x10 != 0,
            will_props_without_will: !will && !will_props.is_empty(),
        };
        let client_id = if flags & 16 != 0 { "" } else { "fuzz-client" };
        let options = ConnectOptionsV5 {
            options: ConnectOptions {
                client_id,
                clean_session: flags & 1 != 0,
                keep_alive,
                username: (flags & 4 != 0).then_some("user"),
                password: (flags & 8 != 0).then_some(b"secret".as_slice()),
                will: will.then_some(LastWill {
                    topic: will_topic,
                    payload: will_payload,
                    qos: qos_of(flags >> 5),
                    retain: flags & 0x80 != 0,
                }),
            },
            properties: Properties::new(&props),
            will_properties: Properties::new(&will_props),
        };
        let before = self.session.state();
        let limit = self.session.max_incoming_packet();
        match self.session.connect(self.now(), &options) {
            Ok(()) => {
                assert_eq!(before, State::TransportUp, "connect accepted in {before:?}");
                assert_eq!(self.session.state(), State::Connecting);
                assert!(
                    !asked.will_props_without_will,
                    "will properties without a will"
                );
                assert!(
                    mps.is_none_or(|m| usize::try_from(m).is_ok_and(|m| m <= limit)),
                    "a Maximum Packet Size of {mps:?} accepted above the {limit}-byte limit"
                );
                assert_eq!(self.session.protocol(), ProtocolVersion::V5);
                self.conn_no += 1;
                self.conns.push_back(Conn {
                    no: self.conn_no,
                    clean_session: options.options.clean_session,
                    connected_seen: false,
                });
                self.wire = Wire::default();
                let no = self.conn_no;
                let m = self.model();
                // Whether the client may hold no session now: the last connection ended it (a
                // Session Expiry Interval of 0 in force at its end: the events that tell may
                // not be polled yet), an earlier one did and none was accepted since (not
                // modelled exactly: once ended since the last restart, counted as maybe), a
                // clean start, or another client id.
                let prev_ended = m.cur != 0 && {
                    use super::model::Taken;
                    let p = m.cur();
                    let granted = p
                        .connack
                        .map_or(p.connect_session_expiry, |v| v.session_expiry);
                    match (p.expiry_override, p.connack_taken) {
                        (Some(e), _) => e == 0,
                        (None, Taken::Yes) => granted == 0,
                        (None, Taken::No) => p.connect_session_expiry == 0,
                        (None, Taken::Maybe) => granted == 0 || p.connect_session_expiry == 0,
                    }
                };
                let no_session = m.session_ended
                    || prev_ended
                    || options.options.clean_session
                    || m.last_client_id.is_some_and(|id| id != client_id);
                m.session_ended = no_session;
                m.last_client_id = Some(client_id);
                m.cur = no;
                m.conns.insert(
                    no,
                    ConnV5 {
                        clean_start: options.options.clean_session,
                        our_receive_maximum: rm.unwrap_or(u16::MAX),
                        our_maximum_packet_size: mps,
                        our_topic_alias_maximum: tam.unwrap_or(0),
                        connect_session_expiry: expiry.unwrap_or(0),
                        keep_alive,
                        no_session,
                        broke: super::model::Broke {
                            auth: asked.auth,
                            ..Default::default()
                        },
                        ..ConnV5::default()
                    },
                );
            }
            Err(e) => {
                assert_eq!(
                    self.session.state(),
                    before,
                    "a refused connect changed the state"
                );
                match e {
                    CommandError::TransportDown => {
                        assert!(matches!(before, State::TransportDown | State::Closed));
                    }
                    CommandError::AlreadyConnected => assert!(matches!(
                        before,
                        State::Connecting | State::Connected | State::Disconnecting
                    )),
                    CommandError::WillPropertiesWithoutWill => {
                        assert!(asked.will_props_without_will);
                    }
                    CommandError::MaximumPacketSizeTooLarge { limit: l } => {
                        assert_eq!(l, limit);
                        assert!(mps.is_some_and(|m| usize::try_from(m).is_ok_and(|m| m > l)));
                    }
                    CommandError::PacketTooLarge { required } => {
                        assert!(required > self.tx_len);
                    }
                    CommandError::EmptyClientIdWithoutCleanSession
                    | CommandError::TopicAliasesUnavailable => {
                        // 5.0 allows an empty client id with Clean Start 0 (the server may
                        // refuse it, 0x85); incoming aliases are there with `alloc`.
                        panic!("connect refused: {e:?}")
                    }
                    _ => {}
                }
            }
        }
    }

    pub(super) fn publish_v5(&mut self, r: &mut In<'_, '_>) {
        let flags = r.u8();
        let qos = qos_of(flags);
        let retain = flags & 4 != 0;
        let topic = Self::topic(r);
        let payload = r.bytes();
        let p = if flags & 8 != 0 { r.u8() } else { 0 };
        let correlation = if p & 0x10 != 0 { r.bytes() } else { &[] };
        let user_value = if p & 0x20 != 0 { text(r) } else { "" };
        let mut props = Vec::new();
        if p & 1 != 0 {
            props.push(Property::PayloadFormatIndicator(p & 0x80 == 0));
        }
        if p & 2 != 0 {
            props.push(Property::MessageExpiryInterval(u32::from(flags)));
        }
        if p & 4 != 0 {
            props.push(Property::ContentType("text/plain"));
        }
        if let Some(t) = (p & 8 != 0)
            .then(|| mqtt_proto::TopicName::new("reply/to").ok())
            .flatten()
        {
            props.push(Property::ResponseTopic(t));
        }
        if p & 0x10 != 0 {
            props.push(Property::CorrelationData(correlation));
        }
        if p & 0x20 != 0 {
            props.push(Property::UserProperty("k", user_value));
        }
        // Properties a client may not send in PUBLISH, or that the session sets itself.
        let mut forbidden = false;
        let mut invalid = false;
        if p & 0x40 != 0 {
            match flags >> 4 {
                0..=4 => {
                    props.push(Property::SubscriptionIdentifier(1));
                    forbidden = true;
                }
                5..=9 => {
                    props.push(Property::TopicAlias(1));
                    forbidden = true;
                }
                10..=12 => {
                    props.push(Property::ReasonString("no"));
                    invalid = true;
                }
                _ => {
                    props.push(Property::ContentType("a"));
                    props.push(Property::ContentType("b"));
                    invalid = true;
                }
            }
        }
        let properties = Properties::new(&props);
        let props_wire = props_bytes(&properties, PropertyContext::Publish);
        let topic_ok = mqtt_proto::TopicName::new(topic).is_ok();
        let before_state = self.session.state();
        let limits = self.session.server_limits();
        let protocol = self.session.protocol();
        let store = self.session.store();
        let settled = self
            .pending_drop
            .take()
            .is_some_and(|id| store.outgoing_position(pid(id)).is_some());
        let before_len = store.outgoing_len() - usize::from(settled);
        let result =
            self.session
                .publish_with(self.now(), topic, payload, qos, retain, &properties);
        trace!("  publish_with {qos:?} {topic:?} {props:?}: {result:?}");
        if result.is_ok() {
            assert!(topic_ok, "published to an invalid topic {topic:?}");
            assert!(!forbidden && !invalid, "published with {props:?}");
            if before_state == State::Connected {
                let l = limits.unwrap_or_else(|| panic!("connected without server limits"));
                assert!(
                    qos.as_u8() <= l.maximum_qos.as_u8(),
                    "QoS above the maximum"
                );
                assert!(
                    !retain || l.retain_available,
                    "RETAIN without Retain Available"
                );
            }
        }
        match result {
            Ok(None) => {
                assert_eq!(qos, QoS::AtMostOnce);
                assert_eq!(before_state, State::Connected);
                assert_eq!(self.session.store().outgoing_len(), before_len);
                let published = Published {
                    qos,
                    retain,
                    topic: topic.to_owned(),
                    payload: payload.to_vec(),
                    props: props_wire.unwrap_or_default(),
                };
                self.model().cur().qos0.push_back(published);
            }
            Ok(Some(id)) => {
                assert_ne!(qos, QoS::AtMostOnce);
                assert!(
                    before_state == State::Connected || self.config.offline_publish,
                    "a QoS {} publish accepted in {before_state:?}",
                    qos.as_u8()
                );
                self.check_new_id(id);
                assert_eq!(self.session.store().outgoing_len(), before_len + 1);
                let held = self.session.store().outgoing(before_len);
                let same = held.is_some_and(|m| {
                    (m.packet_id, m.topic, m.payload, m.qos, m.retain)
                        == (id, topic, payload, qos, retain)
                });
                assert!(same, "the store holds {held:?} for publish {}", id.get());
                self.published.insert(
                    id.get(),
                    Published {
                        qos,
                        retain,
                        topic: topic.to_owned(),
                        payload: payload.to_vec(),
                        props: props_wire.unwrap_or_default(),
                    },
                );
                self.remember_id(id.get());
            }
            Err(e) => {
                assert_eq!(self.session.store().outgoing_len(), before_len);
                assert_eq!(self.session.state(), before_state);
                match e {
                    CommandError::NotConnected => assert_ne!(before_state, State::Connected),
                    CommandError::RequiresV5 => {
                        assert_eq!(protocol, ProtocolVersion::V311);
                        assert!(!props.is_empty());
                    }
                    CommandError::Invalid(_) => assert!(!topic_ok || invalid),
                    CommandError::PropertyNotAllowed => assert!(forbidden),
                    CommandError::QoSNotSupported { maximum } => {
                        let l = limits.unwrap_or_else(|| panic!("{e:?} without limits"));
                        assert_eq!(maximum, l.maximum_qos);
                        assert!(qos.as_u8() > maximum.as_u8());
                    }
                    CommandError::RetainNotSupported => {
                        assert!(retain && limits.is_some_and(|l| !l.retain_available));
                    }
                    CommandError::PacketTooLargeForServer { required, maximum } => {
                        let l = limits.unwrap_or_else(|| panic!("{e:?} without limits"));
                        assert_eq!(l.maximum_packet_size, Some(maximum));
                        assert!(usize::try_from(maximum).is_ok_and(|m| required > m));
                    }
                    _ => {}
                }
            }
        }
    }

    pub(super) fn subscribe_v5(&mut self, r: &mut In<'_, '_>) {
        let n = usize::from(r.u8() % 5);
        let mut filters: Vec<(&str, SubscriptionOptions)> = Vec::new();
        for _ in 0..n {
            let b = r.u8();
            let filter = match b {
                0xFF => r.str(),
                0x80..=0xFE => SHARED[usize::from(b) % SHARED.len()],
                _ => crate::session::FILTERS[usize::from(b) % crate::session::FILTERS.len()],
            };
            let o = r.u8();
            filters.push((
                filter,
                SubscriptionOptions {
                    qos: qos_of(o),
                    no_local: o & 4 != 0,
                    retain_as_published: o & 8 != 0,
                    retain_handling: match (o >> 4) % 3 {
                        0 => RetainHandling::SendAtSubscribe,
                        1 => RetainHandling::SendIfNew,
                        _ => RetainHandling::DoNotSend,
                    },
                },
            ));
        }
        let p = r.u8();
        // The 3.1.1 command on a 5.0 connection: maximum QoS only, no properties.
        let plain = p & 0x80 != 0;
        if plain {
            for (_, o) in &mut filters {
                *o = SubscriptionOptions::new(o.qos);
            }
        }
        let p = if plain { 0 } else { p };
        let user_value = if p & 4 != 0 { text(r) } else { "" };
        let mut props = Vec::new();
        if p & 1 != 0 {
            let id = if p & 2 != 0 { 0 } else { u32::from(r.u8()) + 1 };
            props.push(Property::SubscriptionIdentifier(id));
        }
        if p & 4 != 0 {
            props.push(Property::UserProperty("k", user_value));
        }
        if p & 8 != 0 {
            props.push(Property::TopicAlias(1));
        }
        let properties = Properties::new(&props);
        let props_wire = props_bytes(&properties, PropertyContext::Subscribe);
        // What the session must refuse.
        let mut invalid = props_wire.is_none();
        let mut wildcard = false;
        let mut shared = false;
        for (f, o) in &filters {
            match mqtt_proto::TopicFilter::new(f) {
                Ok(tf) => match mqtt_proto::v5::shared_subscription(tf) {
                    Ok(s) => {
                        shared |= s;
                        invalid |= s && o.no_local;
                    }
                    Err(_) => invalid = true,
                },
                Err(_) => invalid = true,
            }
            wildcard |= f.contains(['+', '#']);
        }
        let subscription_id = props
            .iter()
            .any(|x| x.id() == PropertyId::SubscriptionIdentifier);
        let before = self.session.state();
        let limits = self.session.server_limits();
        let protocol = self.session.protocol();
        let result = if plain {
            let pairs: Vec<(&str, QoS)> = filters.iter().map(|(f, o)| (*f, o.qos)).collect();
            self.session.subscribe(self.now(), &pairs)
        } else {
            self.session
                .subscribe_with(self.now(), &filters, &properties)
        };
        trace!("  subscribe (plain: {plain}) {filters:?} {props:?}: {result:?}");
        match result {
            Ok(id) => {
                assert_eq!(before, State::Connected);
                assert!(
                    n > 0 && !invalid,
                    "subscribed to {filters:?} with {props:?}"
                );
                let l = limits.unwrap_or_else(|| panic!("connected without server limits"));
                assert!(
                    !subscription_id || l.subscription_identifiers_available,
                    "a Subscription Identifier accepted, the broker offers none"
                );
                assert!(
                    !shared || l.shared_subscription_available,
                    "a shared subscription accepted, the broker offers none"
                );
                assert!(
                    !wildcard || l.wildcard_subscription_available,
                    "a wildcard subscription accepted, the broker offers none"
                );
                self.check_new_id(id);
                self.requests
                    .insert(id.get(), (Request::Subscribe(n), self.conn_no));
                self.issued
                    .insert(id.get(), (Request::Subscribe(n), self.conn_no));
                self.remember_id(id.get());
                let details = SubDetails {
                    conn: self.conn_no,
                    filters: filters
                        .iter()
                        .map(|(f, o)| ((*f).to_owned(), o.as_u8()))
                        .collect(),
                    props: props_wire.unwrap_or_default(),
                };
                self.model().subs.insert(id.get(), details);
            }
            Err(e) => {
                assert_eq!(self.session.state(), before);
                match e {
                    CommandError::RequiresV5 => {
                        assert!(!plain);
                        assert_eq!(protocol, ProtocolVersion::V311);
                    }
                    CommandError::NoFilters => assert_eq!(n, 0),
                    CommandError::Invalid(_) => assert!(invalid, "{e:?} for {filters:?}"),
                    CommandError::NotAvailableOnServer => {
                        let l = limits.unwrap_or_else(|| panic!("{e:?} without limits"));
                        assert!(
                            (subscription_id && !l.subscription_identifiers_available)
                                || (shared && !l.shared_subscription_available)
                                || (wildcard && !l.wildcard_subscription_available),
                            "{e:?} for {filters:?} under {l:?}"
                        );
                    }
                    CommandError::PacketTooLargeForServer { required, maximum } => {
                        let l = limits.unwrap_or_else(|| panic!("{e:?} without limits"));
                        assert_eq!(l.maximum_packet_size, Some(maximum));
                        assert!(usize::try_from(maximum).is_ok_and(|m| required > m));
                    }
                    _ => {}
                }
            }
        }
    }

    pub(super) fn disconnect_v5(&mut self, r: &mut In<'_, '_>) {
        let b = r.u8();
        let before = self.session.state();
        if b & 1 == 0 {
            let res = self.session.disconnect(self.now());
            assert_eq!(
                res.is_ok(),
                matches!(before, State::Connecting | State::Connected),
                "disconnect in {before:?}: {res:?}"
            );
            return;
        }
        let code_byte = DISCONNECT_CODES[usize::from(r.u8()) % DISCONNECT_CODES.len()];
        let Ok(code) = DisconnectReasonCode::from_u8(code_byte) else {
            panic!("0x{code_byte:02X} is in the list of DISCONNECT codes");
        };
        let p = r.u8();
        let reason = if p & 8 != 0 { text(r) } else { "" };
        let mut props = Vec::new();
        let expiry = (p & 1 != 0).then_some(match (p >> 1) & 3 {
            0 => 0,
            1 => 1,
            2 => 3600,
            _ => u32::MAX,
        });
        if let Some(e) = expiry {
            props.push(Property::SessionExpiryInterval(e));
        }
        if p & 8 != 0 {
            props.push(Property::ReasonString(reason));
        }
        if p & 0x10 != 0 {
            props.push(Property::UserProperty("k", "v"));
        }
        if p & 0x20 != 0 {
            props.push(Property::ServerReference("elsewhere"));
        }
        // Section 3.14.2.1: some codes only a server sends.
        let server_only = !CLIENT_DISCONNECT_CODES.contains(&code_byte);
        let invalid = p & 0x40 != 0;
        if invalid {
            props.push(Property::TopicAlias(1));
        }
        let protocol = self.session.protocol();
        let limits = self.session.server_limits();
        let options = DisconnectOptions {
            reason_code: code,
            properties: Properties::new(&props),
        };
        let res = self.session.disconnect_with(self.now(), &options);
        trace!("  disconnect_with {code:?} {props:?}: {res:?}");
        let connect_expiry = self.model().cur().connect_session_expiry;
        match res {
            Ok(()) => {
                assert!(matches!(before, State::Connecting | State::Connected));
                assert_eq!(self.session.state(), State::Disconnecting);
                assert!(!invalid, "disconnect_with accepted {props:?}");
                assert!(
                    !server_only,
                    "disconnect_with accepted 0x{code_byte:02X}, a server's reason code"
                );
                assert!(
                    expiry.is_none_or(|e| e == 0 || connect_expiry > 0),
                    "a Session Expiry Interval of {expiry:?} after a CONNECT with 0"
                );
                if let Some(e) = expiry {
                    self.model().cur().expiry_override = Some(e);
                }
            }
            Err(e) => {
                assert_eq!(self.session.state(), before);
                match e {
                    CommandError::NotConnected => {
                        assert!(!matches!(before, State::Connecting | State::Connected));
                    }
                    CommandError::RequiresV5 => assert_eq!(protocol, ProtocolVersion::V311),
                    CommandError::SessionExpiryAfterZero => {
                        assert!(expiry.is_some_and(|e| e > 0) && connect_expiry == 0);
                    }
                    CommandError::Invalid(_) => assert!(invalid || server_only),
                    CommandError::PacketTooLargeForServer { required, maximum } => {
                        let l = limits.unwrap_or_else(|| panic!("{e:?} without limits"));
                        assert_eq!(l.maximum_packet_size, Some(maximum));
                        assert!(usize::try_from(maximum).is_ok_and(|m| required > m));
                    }
                    _ => {}
                }
            }
        }
    }
}
