//! The session's events, turned into completions, messages and the end of a connection.

use mqtt_session::Event;

use super::{Core, LinkState};
use mqtt_proto::QoS;

use crate::core::{Common, Family, Fire, Reconnected, Status};
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
                    match self.attempt.take().map(|a| a.done) {
                        Some(Some(done)) => {
                            self.complete(done, Ok(Connected { session_present }));
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
                    self.push_received(message);
                }
                Event::PublishAcknowledged { packet_id }
                | Event::PublishCompleted { packet_id } => {
                    self.finish_publish(c, packet_id, Ok(()));
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
                    self.finish_publish(c, packet_id, Err(Error::PublishRejected(reason_code)));
                }
                Event::PublishExpired { packet_id } => {
                    self.finish_publish(c, packet_id, Err(Error::PublishExpired));
                }
                Event::Republished { old, new } => {
                    // Its session ended: the message goes out again under a new id.
                    if let Some(done) = c.pubs.remove(&old) {
                        c.pubs.insert(new, done);
                    }
                }
                Event::Subscribed { packet_id, results } => {
                    self.wake.room = true;
                    let codes: Vec<_> = results.iter().collect();
                    c.granted(packet_id, &codes);
                    if let Some(done) = c.subs.remove(&packet_id) {
                        self.complete(done, Ok(codes));
                    }
                }
                Event::Unsubscribed { packet_id } => {
                    self.wake.room = true;
                    c.ungranted(packet_id);
                    if let Some(done) = c.unsubs.remove(&packet_id) {
                        self.complete(done, Ok(()));
                    }
                }
                Event::Disconnected { reason } if self.closing.is_none() && !self.ending => {
                    self.closing = Some(DisconnectReason::from_session(reason));
                }
                _ => {}
            }
        }
        any
    }

    fn finish_publish(
        &mut self,
        c: &mut Common<F>,
        packet_id: mqtt_proto::PacketId,
        r: Result<(), Error>,
    ) {
        self.wake.room = true;
        if let Some(done) = c.pubs.remove(&packet_id) {
            self.complete(done, r);
        }
    }

    /// An automatic reconnect was accepted: when the broker had no session, the subscriptions
    /// go out again in one SUBSCRIBE (its SUBACK updates them like any other); then the
    /// reconnect notification runs.
    fn reconnected(&mut self, c: &mut Common<F>, session_present: bool) {
        let mut resubscribed = Vec::new();
        if !session_present && !c.subscriptions.is_empty() {
            let filters: Vec<(&str, QoS)> = c
                .subscriptions
                .iter()
                .map(|(f, q)| (f.as_str(), *q))
                .collect();
            // Refused only for a transmit buffer too small for all the filters at once: the
            // subscriptions are then left to the application (the notification says none
            // were sent).
            match c.session.subscribe(self.clock.now(), &filters) {
                Ok(id) => {
                    lifecycle!(
                        info,
                        "no session on the broker: subscribing again to {filters:?}"
                    );
                    resubscribed = c.subscriptions.clone();
                    c.sub_filters.insert(id, resubscribed.clone());
                }
                Err(e) => lifecycle!(warn, "the subscriptions could not be sent again: {e}"),
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
