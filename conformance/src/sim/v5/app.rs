//! The simulated application of a 5.0 run: how it connects, what it does with each event, and
//! the commands it gives (`publish`/`publish_with`, `subscribe_with`, `unsubscribe`,
//! `disconnect`/`disconnect_with`).

use mqtt_session::v5::{
    DisconnectOptions, DisconnectReasonCode, Properties, Property, RetainHandling,
    SubscriptionOptions,
};
use mqtt_session::{
    CommandError, ConnectOptions, ConnectOptionsV5, DisconnectReason, Event, PacketId, QoS,
    SessionLostPolicy, Violation,
};

use super::Outcome;
use crate::sim::{CLIENT_ID, KEEP_ALIVE_S, Sim, Use, seq_of};
use crate::v5::Seen5;

/// An owned copy of an event of a 5.0 connection: a message with the properties the checks
/// read, or [`Seen5`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::sim) enum Got {
    /// [`Event::Message`].
    Message {
        topic: String,
        payload: Vec<u8>,
        qos: QoS,
        packet_id: Option<u16>,
        user: Vec<(String, String)>,
        expiry: Option<u32>,
        sub_ids: Vec<u32>,
    },
    /// [`Event::PublishExpired`].
    Expired(u16),
    /// [`Event::PublishNotSendable`], with the reason's `Debug` text.
    NotSendable(u16, String),
    /// Any other event.
    Seen(Seen5),
}

impl Got {
    pub(in crate::sim) fn from_event(e: &Event<'_>) -> Got {
        match e {
            Event::Message(m) => Got::Message {
                topic: m.topic.to_owned(),
                payload: m.payload.to_vec(),
                qos: m.qos,
                packet_id: m.packet_id.map(PacketId::get),
                user: m
                    .properties
                    .user_properties()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                expiry: m.properties.message_expiry_interval(),
                sub_ids: m.properties.subscription_identifiers().collect(),
            },
            Event::PublishExpired { packet_id } => Got::Expired(packet_id.get()),
            Event::PublishNotSendable { packet_id, reason } => {
                Got::NotSendable(packet_id.get(), format!("{reason:?}"))
            }
            other => Got::Seen(Seen5::from_event(other)),
        }
    }
}

impl Sim {
    /// CONNECT over a new transport: Clean Start 1 while the client has no session state (its
    /// session ended and no CONNACK accepted a connection since), sometimes anyway; and
    /// sometimes 0 all the same, as a forgetful application would.
    pub(in crate::sim) fn connect_v5(&mut self) -> Result<(), String> {
        let forgetful = self.v5.session_gone && !self.v5.restarted && self.rng.percent(20);
        let clean = (self.v5.session_gone && !forgetful) || (self.faults && self.rng.percent(3));
        self.v5.wire.clean_start = clean;
        if clean {
            // The session ends here [MQTT-3.1.2-4]. Until a CONNACK accepts the connection the
            // client cannot tell whether the broker holds the new session or the old one, so
            // it has none to resume: Session Present 1 on a Clean Start 0 then closes.
            self.stats.v5.clean_starts += 1;
            self.session_ended();
            self.v5.session_gone = true;
        }
        let p = self.v5.params.clone();
        let mut props = vec![Property::SessionExpiryInterval(p.session_expiry)];
        props.extend(p.receive_maximum.map(Property::ReceiveMaximum));
        props.extend(p.topic_alias_maximum.map(Property::TopicAliasMaximum));
        if p.maximum_packet_size {
            let max = u32::try_from(self.client.max_incoming_packet()).unwrap_or(u32::MAX);
            props.push(Property::MaximumPacketSize(max));
        }
        let mut options = ConnectOptionsV5::new(CLIENT_ID);
        options.options = ConnectOptions {
            clean_session: clean,
            keep_alive: KEEP_ALIVE_S,
            ..ConnectOptions::new(CLIENT_ID)
        };
        options.properties = Properties::new(&props);
        self.client
            .connect(self.instant(), &options)
            .map_err(|e| format!("5.0 connect refused by the session: {e:?}"))?;
        self.pump().map(|_| ())
    }

    /// The application learns that its session ended: what it held may come back.
    fn session_ended(&mut self) {
        let held = self
            .ids
            .iter()
            .filter(|(_, u)| matches!(u, Use::Publish(_)))
            .map(|(id, _)| *id);
        self.v5.orphans.extend(held);
        self.written.clear();
        self.released.clear();
    }

    /// Subscribes `sim/#` (QoS 2, No Local 0, so the client's own messages come back).
    pub(in crate::sim) fn subscribe_sim_v5(&mut self) -> Result<(), String> {
        let options = SubscriptionOptions {
            retain_as_published: self.rng.percent(50),
            retain_handling: [
                RetainHandling::SendAtSubscribe,
                RetainHandling::SendIfNew,
                RetainHandling::DoNotSend,
            ][self.rng.index(3)],
            ..SubscriptionOptions::new(QoS::ExactlyOnce)
        };
        let mut props = Vec::new();
        props.extend(self.v5.params.sub_id.map(Property::SubscriptionIdentifier));
        if self.rng.percent(30) {
            props.push(Property::UserProperty("sub", "sim"));
        }
        let r = self.client.subscribe_with(
            self.instant(),
            &[("sim/#", options)],
            &Properties::new(&props),
        );
        match r {
            Ok(id) => {
                self.take_id(id.get(), Use::Request)?;
                self.sub_pending = Some(id.get());
            }
            Err(e) => self.log(|| format!("subscribe_with sim/#: {e:?}")),
        }
        Ok(())
    }

    pub(in crate::sim) fn on_event_v5(&mut self, got: Got) -> Result<(), String> {
        self.log(|| format!("!  {got:?}"));
        let seen = match got {
            Got::Message {
                topic,
                payload,
                qos,
                packet_id,
                user,
                expiry,
                sub_ids,
            } => {
                self.v5.delivered_ids.push(packet_id);
                return self.on_message_v5(topic, &payload, qos, &user, expiry, &sub_ids);
            }
            Got::Expired(id) => return self.on_expired(id),
            Got::NotSendable(id, why) => {
                return Err(format!("held message {id} not sendable: {why}"));
            }
            Got::Seen(seen) => seen,
        };
        match seen {
            Seen5::Connected { session_present } => {
                if self.v5.wire.expect_close {
                    return Err("Session Present 1 without session state accepted \
                                [MQTT-3.2.2-4]"
                        .to_owned());
                }
                self.connected = true;
                self.want_subscribe = true;
                if !session_present {
                    // The broker has no session: neither has the client from now on
                    // [MQTT-3.2.2-5], and the subscriptions are gone.
                    let meant = !self.v5.wire.clean_start && self.v5.ever_connected;
                    if meant && !self.v5.session_gone {
                        self.stats.v5.not_resumed += 1;
                    }
                    self.sub_confirmed = false;
                    self.session_ended();
                }
                self.v5.session_gone = false;
                self.v5.restarted = false;
                self.v5.ever_connected = true;
            }
            Seen5::Response { packet, codes, .. } => {
                if codes.contains(&0x10) {
                    // Every message goes to sim/..., which our subscription matches: the
                    // broker does not have it (a session of its that ended unheard of).
                    self.stats.v5.no_matching_subscribers += 1;
                    self.sub_confirmed = false;
                }
                if packet == "PUBCOMP" && codes == [0x92] {
                    self.stats.v5.pubcomp_not_found += 1;
                }
            }
            Seen5::Acknowledged(id) => {
                self.finished(id, QoS::AtLeastOnce, Outcome::Acknowledged)?
            }
            Seen5::Completed(id) => self.finished(id, QoS::ExactlyOnce, Outcome::Completed)?,
            Seen5::Rejected { packet_id, code } => {
                return Err(format!("message {packet_id} rejected with 0x{code:02x}"));
            }
            Seen5::AcceptedSessionEnded(id) => {
                let seq = self.orphan(id, SessionLostPolicy::Resend)?;
                if !self.v5.pubrec.contains(&seq) {
                    return Err(format!(
                        "m{seq} reported as accepted by an ended session without its PUBREC"
                    ));
                }
                self.stats.v5.accepted_session_ended += 1;
                self.finished(id, QoS::ExactlyOnce, Outcome::AcceptedSessionEnded)?;
            }
            Seen5::Republished { old, new } => {
                let seq = self.orphan(old, SessionLostPolicy::Resend)?;
                if self.v5.pubrec.contains(&seq) {
                    return Err(format!(
                        "m{seq} published again after its PUBREC: it may arrive twice"
                    ));
                }
                self.ids.remove(&old);
                self.take_id(new, Use::Publish(seq))?;
                *self.v5.republished.entry(seq).or_default() += 1;
                self.v5.pubrec.remove(&seq);
                self.v5.fresh.insert(seq);
                self.stats.v5.republished += 1;
            }
            Seen5::Dropped {
                packet_id,
                topic,
                payload,
            } => {
                let seq = self.orphan(packet_id, SessionLostPolicy::Drop)?;
                let m = self.plan.get(seq).ok_or("dropped an unknown message")?;
                // A QoS 2 message whose PUBREC arrived is the broker's: the store may have let
                // its topic and payload go.
                let accepted = self.v5.pubrec.contains(&seq);
                let kept = m.topic == topic && m.payload == payload;
                let let_go = accepted && topic.is_empty() && payload.is_empty();
                if !(kept || let_go) {
                    return Err(format!("m{seq} dropped as {topic:?} {payload:?}"));
                }
                self.stats.v5.dropped += 1;
                let qos = m.qos;
                let outcome = if accepted {
                    Outcome::DroppedAccepted
                } else {
                    Outcome::Dropped
                };
                self.finished(packet_id, qos, outcome)?;
            }
            Seen5::Subscribed { packet_id, codes } => {
                if self.ids.remove(&packet_id) != Some(Use::Request) {
                    return Err(format!("Subscribed for id {packet_id}, not a request"));
                }
                if self.sub_pending == Some(packet_id) {
                    self.sub_pending = None;
                    if codes != [0x02] {
                        return Err(format!("sim/# subscription codes {codes:?}"));
                    }
                    self.sub_confirmed = true;
                }
            }
            Seen5::Unsubscribed(id) => {
                if self.ids.remove(&id) != Some(Use::Request) {
                    return Err(format!("Unsubscribed for id {id}, not a request"));
                }
            }
            Seen5::Disconnected(reason) => self.on_disconnected_v5(reason)?,
            other => return Err(format!("unexpected event {other:?}")),
        }
        Ok(())
    }

    fn on_disconnected_v5(&mut self, reason: DisconnectReason) -> Result<(), String> {
        *self
            .stats
            .client_ends
            .entry(format!("{reason:?}"))
            .or_default() += 1;
        match reason {
            DisconnectReason::ProtocolViolation(Violation::SessionPresentWithoutSession)
                if self.v5.wire.expect_close =>
            {
                self.stats.v5.present_without_session += 1;
            }
            DisconnectReason::ProtocolViolation(v) => {
                return Err(format!(
                    "the client saw a broker violation: {v} [{}]",
                    v.rule()
                ));
            }
            DisconnectReason::IncomingPacketTooLarge => {
                return Err("the broker model sent a packet too large".to_owned());
            }
            DisconnectReason::RefusedV5(code) => {
                return Err(format!("connection refused: {code:?}"));
            }
            DisconnectReason::Server(_) => self.stats.v5.server_disconnects += 1,
            _ if self.v5.wire.expect_close => {
                return Err(format!(
                    "after Session Present 1 without session state, ended with {reason:?} \
                     [MQTT-3.2.2-4]"
                ));
            }
            _ => {}
        }
        if self.v5.ending {
            // Session Expiry 0 on our DISCONNECT: the session ended with the connection.
            self.v5.ending = false;
            self.session_ended();
            self.v5.session_gone = true;
        }
        self.connected = false;
        self.sub_pending = None;
        self.ids.retain(|_, u| *u != Use::Request);
        self.transport_closed_pending = true;
        if self.reconnect_at.is_none() {
            let delay = if self.faults {
                self.rng.range(0, 3000)
            } else {
                10
            };
            self.reconnect_at = Some(self.now + delay);
        }
        Ok(())
    }

    /// A held message handed back after its session ended: `id` must have been held then, under
    /// this policy. Returns its seq.
    fn orphan(&mut self, id: u16, policy: SessionLostPolicy) -> Result<usize, String> {
        if self.client.config().session_lost != policy {
            return Err(format!("message {id} handed back as under {policy:?}"));
        }
        if !self.v5.orphans.remove(&id) {
            return Err(format!(
                "message {id} handed back as of an ended session, but held by no ended session"
            ));
        }
        match self.ids.get(&id) {
            Some(Use::Publish(seq)) => Ok(*seq),
            other => Err(format!("message {id} handed back, which is {other:?}")),
        }
    }

    /// The flow of message `id` is over with `outcome`.
    fn finished(&mut self, id: u16, qos: QoS, outcome: Outcome) -> Result<(), String> {
        match self.ids.remove(&id) {
            Some(Use::Publish(seq)) if self.plan.get(seq).is_some_and(|p| p.qos == qos) => {
                self.v5.orphans.remove(&id);
                self.v5.pubrec.remove(&seq);
                self.v5.outcome.insert(seq, outcome);
                Ok(())
            }
            other => Err(format!(
                "{outcome:?} for id {id}, which is {other:?} (expected a QoS {} publish)",
                qos.as_u8()
            )),
        }
    }

    /// `PublishExpired`: only for a message with a Message Expiry Interval whose lifetime is
    /// over, and whose PUBLISH was never written in its session: once written, a QoS 2
    /// sender does not apply expiry [MQTT-4.3.3-7].
    fn on_expired(&mut self, id: u16) -> Result<(), String> {
        let Some(&Use::Publish(seq)) = self.ids.get(&id) else {
            return Err(format!("PublishExpired for id {id}, not a message"));
        };
        let m = self.plan.get(seq).ok_or("expired an unknown message")?;
        let at = self.v5.published_at.get(&seq).copied().unwrap_or(0);
        let Some(interval) = m.expiry else {
            return Err(format!("m{seq} expired without a Message Expiry Interval"));
        };
        if self.now < at + u64::from(interval.max(1)) * 1000 {
            return Err(format!(
                "m{seq} expired at {} ms, published at {at} ms with {interval} s",
                self.now
            ));
        }
        if self.written.contains_key(&seq) {
            return Err(format!(
                "m{seq} expired after its PUBLISH was written in this session [MQTT-4.3.3-7]"
            ));
        }
        self.stats.v5.expired += 1;
        let qos = m.qos;
        self.finished(id, qos, Outcome::Expired)
    }

    fn on_message_v5(
        &mut self,
        topic: String,
        payload: &[u8],
        qos: QoS,
        user: &[(String, String)],
        expiry: Option<u32>,
        sub_ids: &[u32],
    ) -> Result<(), String> {
        let seq = seq_of(payload)
            .ok_or_else(|| format!("message with a payload never published: {payload:?}"))?;
        let m = self.plan.get(seq).ok_or("delivered an unknown seq")?;
        if m.user != user {
            return Err(format!("m{seq} delivered with User Properties {user:?}"));
        }
        if expiry.is_some() != m.expiry.is_some() || expiry > m.expiry {
            return Err(format!(
                "m{seq} delivered with Message Expiry Interval {expiry:?}, published with {:?}",
                m.expiry
            ));
        }
        let want: Vec<u32> = self.v5.params.sub_id.into_iter().collect();
        if sub_ids != want {
            return Err(format!(
                "m{seq} delivered with Subscription Identifiers {sub_ids:?}"
            ));
        }
        self.delivered.push((topic, seq, qos));
        Ok(())
    }

    pub(in crate::sim) fn app_action_v5(&mut self) -> Result<(), String> {
        if !self.connected {
            return Ok(());
        }
        if !self.sub_confirmed && self.sub_pending.is_none() {
            self.want_subscribe = true;
        }
        let roll = self.rng.below(100);
        let now = self.instant();
        if roll < 70 {
            if !self.sub_confirmed {
                return Ok(());
            }
            let Some(m) = self.plan.get(self.next).cloned() else {
                return Ok(());
            };
            let mut props: Vec<Property<'_>> = m
                .user
                .iter()
                .map(|(k, v)| Property::UserProperty(k, v))
                .collect();
            props.extend(m.expiry.map(Property::MessageExpiryInterval));
            let r = if props.is_empty() {
                self.client.publish(now, m.topic, &m.payload, m.qos, false)
            } else {
                let props = Properties::new(&props);
                self.client
                    .publish_with(now, m.topic, &m.payload, m.qos, false, &props)
            };
            match r {
                Ok(id) => self.published(id, m.qos)?,
                Err(
                    CommandError::WindowFull
                    | CommandError::StoreFull
                    | CommandError::TransmitBufferFull { .. }
                    | CommandError::NotConnected,
                ) => {}
                Err(e) => return Err(format!("publish refused: {e:?}")),
            }
        } else if roll < 90 {
            let filter = format!("other/{}", self.rng.below(4));
            let r = if roll < 80 {
                let options = SubscriptionOptions {
                    no_local: self.rng.percent(50),
                    ..SubscriptionOptions::new(
                        [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][self.rng.index(3)],
                    )
                };
                self.client
                    .subscribe_with(now, &[(&filter, options)], &Properties::EMPTY)
            } else {
                self.client.unsubscribe(now, &[&filter])
            };
            match r {
                Ok(id) => self.take_id(id.get(), Use::Request)?,
                Err(
                    CommandError::TooManyPendingRequests
                    | CommandError::TransmitBufferFull { .. }
                    | CommandError::NotConnected,
                ) => {}
                Err(e) => return Err(format!("subscribe/unsubscribe refused: {e:?}")),
            }
        } else if roll < 92 && self.faults {
            self.disconnect_v5()?;
        }
        self.pump().map(|_| ())
    }

    fn published(&mut self, id: Option<PacketId>, qos: QoS) -> Result<(), String> {
        let seq = self.next;
        self.next += 1;
        self.stats.published[usize::from(qos.as_u8())] += 1;
        self.v5.published_at.insert(seq, self.now);
        self.log(|| format!("app publish m{seq} qos={} -> {id:?}", qos.as_u8()));
        match (id, qos) {
            (None, QoS::AtMostOnce) => Ok(()),
            (Some(id), QoS::AtLeastOnce | QoS::ExactlyOnce) => {
                self.take_id(id.get(), Use::Publish(seq))
            }
            (id, qos) => Err(format!("publish QoS {} returned id {id:?}", qos.as_u8())),
        }
    }

    /// DISCONNECT: plain, normal with the session kept, with Session Expiry 0 (the session
    /// ends), or with Session Expiry 1 (the broker's session may expire before the reconnect).
    fn disconnect_v5(&mut self) -> Result<(), String> {
        let now = self.instant();
        let kind = self.rng.below(10);
        self.log(|| format!("app disconnect ({kind})"));
        let r = match kind {
            0..4 => self.client.disconnect(now),
            4..6 => self.client.disconnect_with(now, &DisconnectOptions::NORMAL),
            _ => {
                let expiry = [Property::SessionExpiryInterval(u32::from(kind == 9))];
                let options = DisconnectOptions {
                    reason_code: DisconnectReasonCode::NormalDisconnection,
                    properties: Properties::new(&expiry),
                };
                self.client.disconnect_with(now, &options)
            }
        };
        r.map_err(|e| format!("disconnect refused while connected: {e:?}"))?;
        if (6..9).contains(&kind) {
            self.v5.ending = true;
            self.stats.v5.expiry_zero_disconnects += 1;
        }
        Ok(())
    }
}
