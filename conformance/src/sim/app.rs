//! The simulated application of a 3.1.1 run: what it does with each event of the session, and
//! the commands it gives (publish the plan, subscribe and unsubscribe elsewhere, disconnect).

use mqtt_session::{CommandError, DisconnectReason, QoS, SubAckReturnCode};

use super::{Sim, Use, seq_of};
use crate::script::Seen;

impl Sim {
    pub(super) fn on_event(&mut self, seen: Seen) -> Result<(), String> {
        self.log(|| format!("!  {seen}"));
        match seen {
            Seen::Connected { .. } => {
                self.connected = true;
                self.want_subscribe = true;
            }
            Seen::Message {
                topic,
                payload,
                qos,
                ..
            } => {
                let seq = seq_of(&payload).ok_or_else(|| {
                    format!("message with a payload never published: {payload:?}")
                })?;
                self.delivered.push((topic, seq, qos));
            }
            Seen::Acknowledged(id) | Seen::Completed(id) => {
                let want = if matches!(seen, Seen::Acknowledged(_)) {
                    QoS::AtLeastOnce
                } else {
                    QoS::ExactlyOnce
                };
                match self.ids.remove(&id) {
                    Some(Use::Publish(seq))
                        if self.plan.get(seq).is_some_and(|p| p.qos == want) => {}
                    other => {
                        return Err(format!(
                            "{seen:?} for id {id}, which is {other:?} (expected a QoS {} publish)",
                            want.as_u8()
                        ));
                    }
                }
            }
            Seen::Subscribed { packet_id, results } => {
                if self.ids.remove(&packet_id) != Some(Use::Request) {
                    return Err(format!(
                        "Subscribed for id {packet_id}, not a pending request"
                    ));
                }
                if self.sub_pending == Some(packet_id) {
                    self.sub_pending = None;
                    if results != [SubAckReturnCode::Success(QoS::ExactlyOnce)] {
                        return Err(format!("sim/# subscription results {results:?}"));
                    }
                    self.sub_confirmed = true;
                }
            }
            Seen::Unsubscribed(id) => {
                if self.ids.remove(&id) != Some(Use::Request) {
                    return Err(format!("Unsubscribed for id {id}, not a pending request"));
                }
            }
            Seen::Disconnected(reason) => {
                *self
                    .stats
                    .client_ends
                    .entry(format!("{reason:?}"))
                    .or_default() += 1;
                if let DisconnectReason::ProtocolViolation(v) = reason {
                    return Err(format!(
                        "the client saw a broker violation: {v} [{}]",
                        v.rule()
                    ));
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
            }
            Seen::Refused(code) => return Err(format!("connection refused: {code:?}")),
            Seen::Dropped { packet_id, .. } => {
                return Err(format!(
                    "message {packet_id} dropped although the broker kept the session"
                ));
            }
            Seen::AcceptedSessionEnded(id) => {
                return Err(format!(
                    "message {id} reported as of an ended session although the broker kept it"
                ));
            }
            Seen::Republished { old, new } => {
                return Err(format!(
                    "message {old} republished as {new} although the broker kept the session"
                ));
            }
            Seen::Other(s) => return Err(format!("unknown event {s}")),
        }
        Ok(())
    }

    pub(super) fn app_action(&mut self) -> Result<(), String> {
        if self.version5 {
            return self.app_action_v5();
        }
        if !self.connected {
            return Ok(());
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
            match self.client.publish(now, m.topic, &m.payload, m.qos, false) {
                Ok(id) => {
                    let seq = self.next;
                    self.next += 1;
                    self.stats.published[usize::from(m.qos.as_u8())] += 1;
                    self.log(|| format!("app publish m{seq} qos={} -> {id:?}", m.qos.as_u8()));
                    match (id, m.qos) {
                        (None, QoS::AtMostOnce) => {}
                        (Some(id), QoS::AtLeastOnce | QoS::ExactlyOnce) => {
                            self.take_id(id.get(), Use::Publish(seq))?;
                        }
                        (id, qos) => {
                            return Err(format!("publish QoS {} returned id {id:?}", qos.as_u8()));
                        }
                    }
                }
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
                let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][self.rng.index(3)];
                self.client.subscribe(now, &[(&filter, qos)])
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
        } else if roll < 91 && self.faults {
            self.log(|| "app disconnect".to_owned());
            self.client
                .disconnect(now)
                .map_err(|e| format!("disconnect refused while connected: {e:?}"))?;
        }
        self.pump().map(|_| ())
    }
}
