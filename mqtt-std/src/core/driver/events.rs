//! The session's events, turned into completions, messages and the end of a connection.

use std::collections::HashMap;

use mqtt_proto::PacketId;
use mqtt_session::Event;

use super::{Core, LinkState};
use mqtt_proto::QoS;

use crate::core::{Common, Family, Fire, PubDone, Reconnected, Status};
use crate::error::{DisconnectReason, Error};
use crate::options::{Connected, Message};

impl<F: Family, L: LinkState> Core<F, L> {
    /// Handles every pending session event. Returns whether there was any.
    pub(super) fn drain_events(&mut self, c: &mut Common<F>) -> bool {
        let mut any = false;
        while let Some(event) = c.session.poll_event() {
            any = true;
            match event {
                Event::Connected { session_present } => {
                    if let Some(t) = &self.pending_target {
                        lifecycle!(
                            info,
                            "connected to {}:{} (session present: {session_present})",
                            t.host,
                            t.port
                        );
                    }
                    c.status = Status::Connected;
                    self.wake.status = true;
                    self.reconnect_failures = 0;
                    if let Some(t) = self.pending_target.take() {
                        self.target = Some(t);
                    }
                    let v5 = self
                        .attempt
                        .as_mut()
                        .and_then(|a| a.connack.take())
                        .map(|mut i| {
                            i.server = c.session.server_limits();
                            i
                        });
                    match self.attempt.take().map(|a| a.done) {
                        Some(Some(done)) => {
                            self.complete(
                                done,
                                Ok(Connected {
                                    session_present,
                                    v5,
                                }),
                            );
                        }
                        // An automatic reconnect.
                        Some(None) => self.reconnected(c, session_present),
                        None => {}
                    }
                }
                Event::ConnectionRefused { code } => {
                    if let Some(a) = &mut self.attempt {
                        a.refused = Some(code);
                    }
                }
                Event::Message(m) => {
                    let message = Message::received(&m, None);
                    let message = c.session.store().record(message);
                    // The response to a request goes to the request, not to the queue.
                    let waiting = message
                        .properties
                        .correlation_data
                        .as_ref()
                        .and_then(|d| c.requests.remove(d));
                    match waiting {
                        Some(done) => {
                            c.took(message.seq);
                            self.complete(done, Ok(message));
                        }
                        None => self.push_received(message),
                    }
                }
                Event::PublishAcknowledged { packet_id }
                | Event::PublishCompleted { packet_id } => {
                    let answer = c.pub_answers.remove(&packet_id).unwrap_or_else(|| {
                        crate::v5::PubAck::new(crate::v5::PubAckReasonCode::Success)
                    });
                    self.finish_publish(c, packet_id, Ok(answer));
                }
                Event::PublishDropped(o) => {
                    let packet_id = o.packet_id;
                    self.finish_publish(c, packet_id, Err(Error::PublishDropped));
                }
                Event::PublishAcceptedSessionEnded { packet_id } => {
                    self.finish_publish(c, packet_id, Err(Error::AcceptedSessionEnded));
                }
                Event::PublishRejected {
                    packet_id,
                    reason_code,
                } => {
                    // The answer with its Reason String (the Response before), or the code.
                    let answer = c
                        .pub_answers
                        .remove(&packet_id)
                        .filter(|a| a.reason_code == reason_code)
                        .unwrap_or_else(|| crate::v5::PubAck::new(reason_code));
                    self.finish_publish(c, packet_id, Ok(answer));
                }
                Event::PublishNotSendable { packet_id, reason } => {
                    self.finish_publish(c, packet_id, Err(reason.into()));
                }
                Event::PublishExpired { packet_id } => {
                    self.finish_publish(c, packet_id, Err(Error::PublishExpired));
                }
                Event::Republished { old, new } => {
                    // Its session ended: the message goes out again under a new id (and a
                    // PUBREC of the ended session is no answer to it).
                    c.pub_answers.remove(&old);
                    if let Some(done) = c.pubs.remove(&old) {
                        c.pubs.insert(new, done);
                    }
                }
                Event::Subscribed { packet_id, results } => {
                    self.wake.room = true;
                    let codes: Vec<_> = results.iter().collect();
                    let raw = results.as_bytes().to_vec();
                    c.granted(packet_id, &raw);
                    if let Some(done) = c.subs.remove(&packet_id) {
                        self.complete(done, Ok(codes));
                    }
                    if let Some(done) = c.subs5.remove(&packet_id) {
                        self.complete(done, Ok(crate::v5::suback_codes(&raw)));
                    }
                }
                Event::Unsubscribed { packet_id } => {
                    self.wake.room = true;
                    let raw = std::mem::take(&mut self.unsuback);
                    let n = c.unsub_filters.get(&packet_id).map_or(raw.len(), Vec::len);
                    c.ungranted(packet_id, &raw);
                    if let Some(done) = c.unsubs.remove(&packet_id) {
                        self.complete(done, Ok(()));
                    }
                    if let Some(done) = c.unsubs5.remove(&packet_id) {
                        self.complete(done, Ok(crate::v5::unsuback_codes(&raw, n)));
                    }
                }
                Event::Response(r) => self.response(&c.pubs, &mut c.pub_answers, &r),
                Event::AuthContinue {
                    method,
                    data,
                    reason_string,
                    ..
                } => {
                    let challenge = crate::v5::AuthChallenge {
                        method: method.to_owned(),
                        data: data.map(<[u8]>::to_vec),
                        reason_string: reason_string.map(str::to_owned),
                        reauthenticating: c.status == Status::Connected,
                    };
                    self.authenticate(c, &challenge);
                }
                Event::Reauthenticated { .. } => {
                    lifecycle!(info, "re-authenticated");
                    if let Some(done) = c.reauth.take() {
                        self.complete(done, Ok(()));
                    }
                }
                Event::Disconnected { reason } if self.closing.is_none() && !self.ending => {
                    let text = self.server_text.take();
                    self.closing =
                        Some(DisconnectReason::from_session(reason).with_server_text(text));
                }
                _ => {}
            }
        }
        any
    }

    /// 5.0: the broker's AUTH 0x18: the handler's answer goes out, or the client gives up
    /// (no handler, or its `Abort`).
    fn authenticate(&mut self, c: &mut Common<F>, challenge: &crate::v5::AuthChallenge) {
        let answer = match &self.options.auth {
            Some(f) => f(challenge),
            None => {
                lifecycle!(
                    warn,
                    "an authentication challenge, and no handler to answer it"
                );
                crate::v5::AuthAnswer::Abort
            }
        };
        let now = self.clock.now();
        let sent = match answer {
            crate::v5::AuthAnswer::Continue(data) => c.session.auth_continue(now, data.as_deref()),
            crate::v5::AuthAnswer::Abort => c.session.abort_auth(now),
        };
        if let Err(e) = sent {
            lifecycle!(warn, "the authentication answer could not be sent: {e}");
            let _ = c.session.abort_auth(now);
        }
    }

    /// 5.0: a CONNACK's or DISCONNECT's properties, an UNSUBACK's reason codes, and the
    /// PUBACK or PUBREC of a publish whose caller wants the answer, kept for the event that
    /// follows.
    fn response(
        &mut self,
        pubs: &HashMap<PacketId, PubDone<F>>,
        answers: &mut HashMap<PacketId, crate::v5::PubAck>,
        r: &mqtt_session::Response<'_>,
    ) {
        use mqtt_proto::v5::PacketType as T;
        match r.packet_type {
            T::PubAck | T::PubRec => {
                if let Some(id) = r.packet_id {
                    if pubs.get(&id).is_some_and(PubDone::wants_answer) {
                        let answer =
                            crate::v5::PubAck::from_response(r.reason_code(), &r.properties);
                        answers.insert(id, answer);
                    }
                }
            }
            T::ConnAck => {
                let info = crate::v5::ConnAckInfo::from_props(&r.properties);
                if r.is_error() {
                    self.server_text = Some((info.reason_string, info.server_reference));
                } else if let Some(a) = &mut self.attempt {
                    a.connack = Some(Box::new(info));
                }
            }
            T::Disconnect => {
                self.server_text = Some((
                    r.reason_string().map(str::to_owned),
                    r.properties.server_reference().map(str::to_owned),
                ));
            }
            T::UnsubAck => {
                self.unsuback.clear();
                self.unsuback.extend_from_slice(r.reason_codes);
            }
            _ => {}
        }
    }

    fn finish_publish(
        &mut self,
        c: &mut Common<F>,
        packet_id: mqtt_proto::PacketId,
        r: Result<crate::v5::PubAck, Error>,
    ) {
        self.wake.room = true;
        c.pub_answers.remove(&packet_id);
        if let Some(done) = c.pubs.remove(&packet_id) {
            self.complete_pub(done, r);
        }
    }

    /// An automatic reconnect was accepted: when the broker had no session, the subscriptions
    /// go out again in one SUBSCRIBE (its SUBACK updates them like any other); then the
    /// reconnect notification runs.
    fn reconnected(&mut self, c: &mut Common<F>, session_present: bool) {
        let mut resubscribed = Vec::new();
        if !session_present && !c.subscriptions.is_empty() {
            let v5 = c.session.protocol() == mqtt_session::ProtocolVersion::V5;
            // One SUBSCRIBE, or on 5.0 one per Subscription Identifier (a SUBSCRIBE carries
            // at most one).
            let mut groups: Vec<Option<u32>> = Vec::new();
            for s in &c.subscriptions {
                let id = if v5 { s.id } else { None };
                if !groups.contains(&id) {
                    groups.push(id);
                }
            }
            for group in groups {
                let subs: Vec<crate::core::Sub> = c
                    .subscriptions
                    .iter()
                    .filter(|s| !v5 || s.id == group)
                    .cloned()
                    .collect();
                let now = self.clock.now();
                // Refused only for a transmit buffer too small for all the filters at once:
                // the subscriptions are then left to the application (the notification says
                // which were sent).
                let sent = if v5 {
                    let filters: Vec<_> = subs
                        .iter()
                        .map(|s| (s.filter.as_str(), s.options.wire()))
                        .collect();
                    let list: Vec<_> = group
                        .map(mqtt_proto::v5::Property::SubscriptionIdentifier)
                        .into_iter()
                        .collect();
                    let props = mqtt_proto::v5::Properties::new(&list);
                    c.session.subscribe_with(now, &filters, &props)
                } else {
                    let filters: Vec<(&str, QoS)> = subs
                        .iter()
                        .map(|s| (s.filter.as_str(), s.options.qos))
                        .collect();
                    c.session.subscribe(now, &filters)
                };
                match sent {
                    Ok(id) => {
                        lifecycle!(
                            info,
                            "no session on the broker: subscribing again to {:?}",
                            subs.iter()
                                .map(|s| (s.filter.as_str(), s.options.qos))
                                .collect::<Vec<_>>()
                        );
                        resubscribed.extend(subs.iter().map(|s| (s.filter.clone(), s.options.qos)));
                        c.sub_filters.insert(id, subs);
                    }
                    Err(e) => lifecycle!(warn, "the subscriptions could not be sent again: {e}"),
                }
            }
        }
        if let Some(f) = c.reconnect_notify.clone() {
            let r = Reconnected {
                session_present,
                resubscribed,
            };
            self.fires.push(Fire::new(move || f(&r)));
        }
    }
}
